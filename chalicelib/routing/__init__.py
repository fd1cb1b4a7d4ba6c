"""Who hears a call first: the routing plan, the incoming call, the TaskRouter workflow, the
assignment instruction and the CRM directory it reads."""
