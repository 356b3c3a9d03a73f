"""Notifications: the bell's rows, each user's preferences, and notify() that raises one."""
