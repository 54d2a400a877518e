"""mcd's web app: the browser terminal and live logs (see app.py)."""
