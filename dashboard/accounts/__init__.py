"""Dashboard users, their encrypted upstream connections, and the one place a client is built."""
