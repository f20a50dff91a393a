"""What the Bedrock stand-in knows about models: their lifecycle and their inference profiles.

Amazon Bedrock retires model versions: a model is Active, then Legacy, then End-of-Life (EOL),
after which every request for it fails. The table below holds the models paybot has used or
may use, with the dates their model cards give, so the stand-in refuses an EOL model exactly as
Bedrock does instead of answering it forever. Sources (read 2026-12):

- Model lifecycle policy and the Legacy/EOL states:
  https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html and
  https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle-legacy.html
- Model cards: https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-3-haiku.html,
  …-claude-3-5-haiku.html, …-claude-haiku-4-5.html, …-amazon-nova-2-lite.html, and
  https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html (modalities and
  the Regions that serve each model in-Region or through cross-Region inference).

Dates are the day a state begins. A status computed for a day before `legacy_from` is Active;
an EOL model answers `ResourceNotFoundException` ("This model version has reached the end of
its life. …") from Converse and from GetFoundationModel. What the cards leave open is marked
"modelled" below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL_ID",
    "FoundationModel",
    "InferenceProfile",
    "Lifecycle",
    "ModelCatalog",
]

Lifecycle = Literal["ACTIVE", "LEGACY", "EOL"]

DEFAULT_MODEL_ID = "us.amazon.nova-2-lite-v1:0"
"""paybot's default model: Amazon Nova 2 Lite through the US cross-Region inference profile."""

_US = ("us-east-1", "us-east-2", "us-west-2")
_US_SOURCES = frozenset({"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1"})
_EU = ("eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3")
_EU_SOURCES = frozenset({*_EU, "eu-south-1", "eu-south-2"})


@dataclass(frozen=True)
class FoundationModel:
    """One foundation model version and its lifecycle, as its Bedrock model card gives it."""

    model_id: str
    name: str  # modelName (botocore allows at most 20 characters)
    provider: str  # providerName
    input_modalities: tuple[str, ...]
    launched: date | None
    legacy_from: date | None = None
    end_of_life: date | None = None
    on_demand_regions: frozenset[str] = frozenset()
    """Regions that serve the bare model id in-Region; empty: only through inference profiles."""
    regional: Mapping[str, Lifecycle] = field(default_factory=dict)
    """Regions whose state differs from the dates (a model retired in most Regions only)."""

    @property
    def display_name(self) -> str:
        """The name inference profiles use: "Amazon Nova 2 Lite"."""
        return f"{self.provider} {self.name}"

    def lifecycle(self, region: str, today: date) -> Lifecycle:
        """The model's state in `region` on `today`."""
        if region in self.regional:
            return self.regional[region]
        if self.end_of_life is not None and today >= self.end_of_life:
            return "EOL"
        if self.legacy_from is not None and today >= self.legacy_from:
            return "LEGACY"
        return "ACTIVE"

    def arn(self, region: str) -> str:
        return f"arn:aws:bedrock:{region}::foundation-model/{self.model_id}"


@dataclass(frozen=True)
class InferenceProfile:
    """A system-defined cross-Region inference profile: `us.`, `eu.` or `global.` + model id."""

    geography: Literal["us", "eu", "global"]
    model_id: str
    sources: frozenset[str] | None
    """Regions a request may be made from (None: any commercial Region)."""
    destinations: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def profile_id(self) -> str:
        return f"{self.geography}.{self.model_id}"

    def offered_in(self, region: str) -> bool:
        return self.sources is None or region in self.sources

    def routes_to(self, region: str) -> tuple[str, ...]:
        """Destination Regions for a request from `region`; "" stands for the regionless ARN.

        A global profile answers with the regionless foundation-model ARN plus the source
        Region's (as `aws bedrock get-inference-profile` shows for global.amazon.nova-2-lite);
        a geographic one with its destinations, plus the source Region when it is not one of
        them (a US profile called from ca-central-1 also routes to ca-central-1).
        """
        if self.geography == "global":
            return ("", region)
        return self.destinations if region in self.destinations else (*self.destinations, region)


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


MODELS: tuple[FoundationModel, ...] = (
    FoundationModel(
        # Card: launched 2024-03-13; EOL 2026-09-10 in most Regions, where requests now fail
        # with "ResourceNotFoundException: This model version has reached the end of its life.";
        # still served in ca-central-1, eu-central-2 and sa-east-1, Legacy in ap-northeast-2.
        "anthropic.claude-3-haiku-20240307-v1:0",
        "Claude 3 Haiku",
        "Anthropic",
        ("TEXT", "IMAGE"),
        _day("2024-03-13"),
        end_of_life=_day("2026-09-10"),
        on_demand_regions=frozenset(
            {"ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2"}
            | {"ca-central-1", "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2"}
            | {"eu-west-3", "me-central-1", "sa-east-1", "us-east-1", "us-west-2"}
        ),
        regional={
            "ca-central-1": "ACTIVE",
            "eu-central-2": "ACTIVE",
            "sa-east-1": "ACTIVE",
            "ap-northeast-2": "LEGACY",
        },
    ),
    FoundationModel(
        # Card: launched 2024-11-04, Legacy, EOL 2026-06-19.
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "Claude 3.5 Haiku",
        "Anthropic",
        ("TEXT",),
        _day("2024-11-04"),
        end_of_life=_day("2026-06-19"),
        on_demand_regions=frozenset({"me-central-1", "us-west-2"}),
    ),
    FoundationModel(
        # Card (via the Bedrock control plane): Legacy since 2026-04-14, EOL 2026-10-14.
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "Claude Sonnet 4",
        "Anthropic",
        ("TEXT", "IMAGE"),
        _day("2025-05-22"),
        legacy_from=_day("2026-04-14"),
        end_of_life=_day("2026-10-14"),
    ),
    FoundationModel(
        # Card: launched 2025-10-16, Active, EOL no sooner than 2026-10-01 and none announced;
        # cross-Region inference profiles only.
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "Claude Haiku 4.5",
        "Anthropic",
        ("TEXT", "IMAGE"),
        _day("2025-10-16"),
    ),
    FoundationModel(
        # Active with no EOL date; cross-Region inference profiles only.
        "anthropic.claude-sonnet-4-6",
        "Claude Sonnet 4.6",
        "Anthropic",
        ("TEXT", "IMAGE"),
        None,
    ),
    FoundationModel(
        # Card: launched 2025-12-02, Active; cross-Region inference only (us., eu., global.).
        # Text, image and video in; botocore's ModelModality enum has no VIDEO, so TEXT and
        # IMAGE are what GetFoundationModel reports here (modelled).
        "amazon.nova-2-lite-v1:0",
        "Nova 2 Lite",
        "Amazon",
        ("TEXT", "IMAGE"),
        _day("2025-12-02"),
    ),
    FoundationModel(
        # Card: launched 2024-12-05, Active; served in-Region in these Regions too.
        "amazon.nova-lite-v1:0",
        "Nova Lite",
        "Amazon",
        ("TEXT", "IMAGE"),
        _day("2024-12-05"),
        on_demand_regions=frozenset(
            {"ap-northeast-1", "ap-southeast-2", "ap-southeast-3", "eu-north-1", "eu-west-2"}
            | {"me-central-1", "us-east-1"}
        ),
    ),
)

PROFILES: tuple[InferenceProfile, ...] = (
    InferenceProfile(
        # `aws bedrock list-inference-profiles` (ca-central-1): "US Amazon Nova 2 Lite", routes
        # to ca-central-1, us-east-1, us-east-2 and us-west-2; from a US Region to the three
        # US Regions.
        "us",
        "amazon.nova-2-lite-v1:0",
        _US_SOURCES,
        _US,
        _at("2025-11-07T03:42:29.890902+00:00"),
        _at("2025-11-22T21:08:24.665280+00:00"),
    ),
    # EU: requests from the EU Regions the model card lists for cross-Region inference; the
    # destinations are modelled (botocore allows a profile at most 5 models).
    InferenceProfile("eu", "amazon.nova-2-lite-v1:0", _EU_SOURCES, _EU),
    InferenceProfile(
        # "GLOBAL Amazon Nova 2 Lite": "Routes requests to Amazon Nova 2 Lite globally across
        # all supported AWS Regions."
        "global",
        "amazon.nova-2-lite-v1:0",
        None,
        (),
        _at("2025-11-04T23:14:33.804883+00:00"),
        _at("2025-11-22T21:08:18.810118+00:00"),
    ),
    # "Routes requests to Anthropic Claude Haiku 4.5 in us-east-1, us-east-2 and us-west-2."
    InferenceProfile("us", "anthropic.claude-haiku-4-5-20251001-v1:0", _US_SOURCES, _US),
    InferenceProfile("eu", "anthropic.claude-haiku-4-5-20251001-v1:0", _EU_SOURCES, _EU),
    InferenceProfile("global", "anthropic.claude-haiku-4-5-20251001-v1:0", None),
    InferenceProfile("us", "anthropic.claude-sonnet-4-6", _US_SOURCES, _US),
    InferenceProfile("global", "anthropic.claude-sonnet-4-6", None),
    InferenceProfile("us", "anthropic.claude-sonnet-4-20250514-v1:0", _US_SOURCES, _US),
    InferenceProfile("us", "anthropic.claude-3-5-haiku-20241022-v1:0", _US_SOURCES, _US),
    InferenceProfile("us", "anthropic.claude-3-haiku-20240307-v1:0", _US_SOURCES, _US),
    InferenceProfile("us", "amazon.nova-lite-v1:0", _US_SOURCES, _US),
)


@dataclass(frozen=True)
class ModelCatalog:
    """Models and inference profiles by id."""

    models: Mapping[str, FoundationModel]
    profiles: Mapping[str, InferenceProfile]

    @classmethod
    def of(
        cls, models: tuple[FoundationModel, ...], profiles: tuple[InferenceProfile, ...]
    ) -> ModelCatalog:
        known = {model.model_id: model for model in models}
        for profile in profiles:
            if profile.model_id not in known:
                raise ValueError(f"profile {profile.profile_id} names an unknown model")
        return cls(known, {profile.profile_id: profile for profile in profiles})


CATALOG = ModelCatalog.of(MODELS, PROFILES)
"""The models and profiles the stand-in serves by default."""
