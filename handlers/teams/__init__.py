"""The Microsoft Teams surface: personal chats through the Teams SDK, cards on Stripe's page."""

import warnings

# The SDK builds a preview feature's default at import and warns about it; paybot does not
# use that feature (HTML widgets), so the warning would only be noise in every log.
warnings.filterwarnings(
    "ignore", message=r"HtmlWidgetSecurityPolicy is in preview", module=r"microsoft_teams\."
)
