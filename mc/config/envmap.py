"""The one table mapping configured service credentials to container environment variables."""

from __future__ import annotations

SERVICE_ENV: dict[str, str] = {
    "services.langfuse.url": "LANGFUSE_URL",
    "services.langfuse.public_key": "LANGFUSE_INIT_PROJECT_PUBLIC_KEY",
    "services.langfuse.secret_key": "LANGFUSE_INIT_PROJECT_SECRET_KEY",
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
