"""Zone context: the zone declaration and local calendars, loaded into the warehouse."""
