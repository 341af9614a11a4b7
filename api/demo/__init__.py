"""``rxdispatch demo``: the stack it starts (:mod:`api.demo.stack`), one
supervised run of the day (:mod:`api.demo.run`) and the links it prints
(:mod:`api.demo.links`)."""
