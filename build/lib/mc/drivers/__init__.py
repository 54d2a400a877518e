"""Drivers: container templates (Dockerfile + mc-driver.yaml), their registry and image builds."""
