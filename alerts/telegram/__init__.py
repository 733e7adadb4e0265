"""The Telegram channel and its bot (see `channel` for the rules)."""
from .channel import RateLimiter, TelegramChannel, render_alert, render_digest, split_html, utf16_len

__all__ = ["RateLimiter", "TelegramChannel", "render_alert", "render_digest", "split_html", "utf16_len"]
