"""What a Slack message shows, read from the database when it is sent: one module per message
family, each a small typed object and the function that loads it. The Block Kit builders in
``bot/slack/`` take these objects and run no queries; the dispatcher (or the listener that opens a
modal) calls the loader, then the builder."""
