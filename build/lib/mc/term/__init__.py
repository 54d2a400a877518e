"""Terminal handling in one place: raw mode, window size, the attach loop."""
