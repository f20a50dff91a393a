"""The stage's monitoring in a packaged template: its alarms, and the metrics the bot
publishes (namespace `paybot`, each with a Stage dimension) that they and the dashboard read.
"""

from __future__ import annotations

from typing import Any

Template = dict[str, Any]

# The bot's own metrics (Embedded Metric Format, namespace paybot).
PAYBOT_METRICS = (
    "Turns",
    "CardFormsOpened",
    "CardsSaved",
    "CardDeclines",
    "RateLimited",
    "EngineFallbacks",
    "ProviderErrors",
    "AckLatency",
)


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    """Every resource of `kind`, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def only(template: Template, kind: str) -> str:
    """The logical id of the template's one resource of `kind`."""
    (logical_id,) = resources(template, kind)
    return logical_id


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    """Every alarm's properties, by logical id."""
    return {k: r["Properties"] for k, r in resources(template, "AWS::CloudWatch::Alarm").items()}
