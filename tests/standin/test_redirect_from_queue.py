"""The fallback step redirects a waiting call by REST: Twilio requests the `<Enqueue action>` at
once ("In the case where a call is dequeued due to a REST API request or the <Leave> verb, the
action URL is requested right away", https://www.twilio.com/docs/voice/twiml/enqueue), with
`QueueResult=redirected`. Which answer the call then follows (the redirect's Url or the
action's) Twilio does not document, so the app is rehearsed under both: the caller hears the
menu once and leaves a voicemail either way.
"""

from __future__ import annotations

import pytest

from ops.simulate import directory
from ops.standin.harness import in_process_stack
from ops.standin.population import AgentProfile, Population
from tests.standin.floor import call_from_an_owned_customer


@pytest.mark.parametrize("follows", ["url", "action"])
def test_a_caller_nobody_answers_is_redirected_to_the_menu_once_whichever_twiml_wins(
    follows: str,
) -> None:
    agents, customers = directory(4, seed=5)
    profiles = [
        AgentProfile(a["agent_id"], a["team"], a["worker_sid"], miss_rate=0.0) for a in agents
    ]
    population = Population(profiles, seed=5)
    with in_process_stack(agents, customers, population, seed=5) as stack:
        standin = stack.standin
        standin.voice.redirect_from_queue_follows = follows
        _sid, truth = call_from_an_owned_customer(stack, customers)
        assert standin.stats.counters["EnqueueActionOnRedirect"] == 1
        assert truth.outcome == "voicemail", truth
        counters = stack.app_counters
        assert counters is not None
        assert counters["QueueExitRedirected"] == 1
        assert counters["QueueExitToFallback"] == 0, "our own redirect is not unexpected"
        assert not truth.offers
