"""Dashboard web helpers: the Quart app, the access pipeline, client addresses and object serving."""
