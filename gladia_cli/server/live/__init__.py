"""The live room: one session over a WebSocket, from its init to what is kept of it."""
