"""The Slack edge: Bolt listeners, the Lambda entry and the composition root."""
