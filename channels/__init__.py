"""Messaging-app channels for Rasa, plugged in by module path in the credentials file.

- `telegram.SecureTelegramInput`: Telegram, with the webhook's secret token checked, HTML
  formatting, split long answers, inline keyboards with fitted callback data, /start → greet.
- `slack.FormattedSlackInput`: Slack, with mrkdwn formatting and Block Kit buttons.
- `formatting`: the bot's light Markdown rendered for each app, and long texts cut to a limit.
- `callback_data`: button payloads in Telegram's 64-byte callback data, and back.

`scripts/credentials.py` adds a channel to the credentials only when its environment variables
are set; docs/channels.md explains how to connect a real bot.
"""
