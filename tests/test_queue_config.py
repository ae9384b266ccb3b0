"""Queue policies as a tagged union: the plain name, a block with typed options, the older
sibling blocks, and user policies that declare their own options (scheduler/queue_config.py,
scheduler.policies.resolve_queue)."""

from __future__ import annotations

import pytest
import yaml
from conftest import run_cli, tiny_scenario
from pydantic import BaseModel, Field

from scheduler import simulate
from scheduler.errors import InputError
from scheduler.loading import validate_data
from scheduler.policies import (
    LeastAttainedService,
    QueuePolicy,
    register_queue_policy,
    resolve_queue,
    unregister_queue_policy,
)


def plan_of(queue, **policy):
    data = tiny_scenario()
    data["policy"] = {"queue": queue, **policy}
    return resolve_queue(validate_data(data).policy)


def test_plain_name_and_block_are_the_same_policy():
    assert plan_of("las").policy is plan_of({"type": "las"}).policy is LeastAttainedService
    assert plan_of("las").options == plan_of({"type": "las"}).options


def test_options_in_the_block_win_over_the_older_sibling_block():
    plan = plan_of({"type": "las", "thresholds_gpu_hours": [2, 20]},
                   las={"thresholds_gpu_hours": [5], "preempt": False})
    # thresholds from the queue block, preempt (not set there) from policy.las
    assert plan.options.thresholds_gpu_hours == [2, 20]
    assert plan.options.preempt is False
    assert plan_of("priority", priority={"preempt": True}).options.preempt is True
    assert plan_of({"type": "priority"}).options.preempt is False  # the default


def test_option_errors_name_their_field_path():
    data = tiny_scenario()
    data["policy"] = {"queue": {"type": "las", "thresholds_gpu_hours": [3, 1]}}
    with pytest.raises(InputError, match=r"policy\.queue\.thresholds_gpu_hours: thresholds"):
        validate_data(data)
    data["policy"] = {"queue": {"type": "sjf", "preempt": True}}
    with pytest.raises(InputError, match=r"policy\.queue\.preempt: unknown key"):
        validate_data(data)


def test_unknown_policy_is_refused_by_validate_and_run(tmp_path):
    with pytest.raises(InputError, match="unknown queue policy 'nope'"):
        plan_of({"type": "nope"})
    path = tmp_path / "s.yaml"
    data = tiny_scenario()
    data["policy"] = {"queue": "nope"}
    path.write_text(yaml.safe_dump(data))
    for command in ("validate", "run"):
        code, _, err = run_cli(command, str(path))
        assert code == 2 and "policy.queue: unknown queue policy 'nope'" in err, err


class DeadlineOptions(BaseModel):
    model_config = {"extra": "forbid"}
    slack_s: float = Field(default=60.0, ge=0)


@pytest.fixture
def deadline_policy():
    @register_queue_policy("by-deadline")
    class ByDeadline(QueuePolicy):
        """Arrival + slack first: with typed options."""

        blocking = "greedy"
        Options = DeadlineOptions

        def order_key(self, job):
            jobs = self.handle.jobs
            return (float(jobs.arrival_s[job]) + self.options.slack_s * float(jobs.gpus[job]),
                    float(job))

    yield ByDeadline
    unregister_queue_policy("by-deadline")


def test_user_policy_declares_typed_options(deadline_policy):
    plan = plan_of({"type": "by-deadline", "options": {"slack_s": 5}})
    assert plan.policy is deadline_policy and plan.options.slack_s == 5
    with pytest.raises(InputError, match=r"policy\.queue\.options\.slack_s"):
        plan_of({"type": "by-deadline", "options": {"slack_s": -1}})
    with pytest.raises(InputError, match=r"policy\.queue\.options\.nope"):
        plan_of({"type": "by-deadline", "options": {"nope": 1}})
    data = tiny_scenario()
    data["policy"] = {"queue": {"type": "by-deadline", "options": {"slack_s": 5}}}
    assert simulate(data, seed=3).summary["queue_policy"] == "by-deadline"


def test_policy_without_options_refuses_some():
    @register_queue_policy("plain-user")
    class Plain(QueuePolicy):
        """No options."""

    try:
        with pytest.raises(InputError, match=r"policy\.queue\.options: .*takes no options"):
            plan_of({"type": "plain-user", "options": {"a": 1}})
        assert plan_of("plain-user").policy is Plain
    finally:
        unregister_queue_policy("plain-user")


def test_gavel_is_a_deprecated_alias_of_speed_gain(tmp_path, capsys):
    import json
    import warnings

    from scheduler import simulate
    from scheduler.cli import main

    data = {"seed": 1, "duration": "5h",
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 1}]}],
            "workloads": [{"name": "w", "arrival": {"process": "poisson", "rate_per_hour": 4},
                           "gpus": 2, "duration": "1h"}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name warns about nothing
        new = simulate({**data, "policy": {"queue": "speed-gain"}})
    with pytest.warns(DeprecationWarning, match="'gavel' is deprecated, use 'speed-gain'"):
        old = simulate({**data, "policy": {"queue": "gavel"}})
    assert old.summary["queue_policy"] == new.summary["queue_policy"] == "speed-gain"
    assert old.jobs.equals(new.jobs)
    # The CLI says it on stderr, in one line, and runs.
    path = tmp_path / "s.json"
    path.write_text(json.dumps({**data, "policy": {"queue": "gavel"}}))
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: policy.queue: 'gavel' is deprecated, use 'speed-gain'") == 1
