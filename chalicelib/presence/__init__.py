"""Agent states: the table of transitions, the presence service, its store, the TaskRouter
mirror and the board."""
