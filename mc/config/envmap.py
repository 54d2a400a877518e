"""The one table mapping configured service credentials to container environment variables.

Langfuse's keys (``services.langfuse.*``) are not among them: they never enter a session. mc sends
its own traces, and relays the tools' spans (``mc.engine.telemetry``)."""

from __future__ import annotations

SERVICE_ENV: dict[str, str] = {
    "services.openai.api_key": "OPENAI_API_KEY",
    "services.anthropic.api_key": "ANTHROPIC_API_KEY",
    "services.openrouter.api_key": "OPENROUTER_API_KEY",
    "services.google.api_key": "GOOGLE_API_KEY",
}

# The API each provider's key is for. Under an egress policy such a key never enters the session:
# it gets a placeholder, and its egress proxy puts the key into HTTPS requests to these names only.
KEY_DOMAINS: dict[str, tuple[str, ...]] = {
    "ANTHROPIC_API_KEY": ("api.anthropic.com",),
    "OPENAI_API_KEY": ("api.openai.com",),
    "OPENROUTER_API_KEY": ("openrouter.ai",),
    "GOOGLE_API_KEY": ("generativelanguage.googleapis.com",),
    "GEMINI_API_KEY": ("generativelanguage.googleapis.com",),
    "GOOGLE_GENERATIVE_AI_API_KEY": ("generativelanguage.googleapis.com",),
    "GROQ_API_KEY": ("api.groq.com",),
    "XAI_API_KEY": ("api.x.ai",),
    "DEEPSEEK_API_KEY": ("api.deepseek.com",),
}
