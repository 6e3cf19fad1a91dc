"""Chat and notifications: channels and messages (`store`), the rules and JSON shapes
(`service`), and notifications with their websocket bus (`notifications`)."""
