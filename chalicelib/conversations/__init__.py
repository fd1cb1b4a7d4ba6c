"""Call legs and events folded into one conversation record: events, facts, the fold, KPIs,
search, prices and the daily export."""
