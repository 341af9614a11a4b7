"""``rxdispatch demo``: the stack it starts and one supervised run of the day."""
