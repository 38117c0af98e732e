"""``keel rollback --env E``: put all traffic back on an earlier revision, then verify it is ready."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keel.cli.deploy import ENV_OPTION, FILE_OPTION, FORMAT_OPTION, Session, emit_result
from keel.cli.terminal import OutputFormat, Terminal, terminal
from keel.errors import ConfigError

if TYPE_CHECKING:
    from keel.rollout.engine import RolloutEngine
    from keel.rollout.state import Rollout
    from keel.spec import KeelSpec

HELP = """Roll environment E back: all traffic to the revision that served before the current one (-n 1, the
default), N served revisions back (-n N), or a named revision (--revision R); then check its readiness (not
liveness). A revision whose own release was aborted is never a target. When a keel deploy was interrupted
(kill -9), keel rollback undoes that rollout instead. A manual rollback never triggers an automatic one: if
the target is not ready, keel says so and leaves traffic where it is. Asks for confirmation unless --yes;
without a terminal it refuses to prompt. Exit codes: 0 rolled back and verified ready (or --list/--dry-run);
1 not carried out: a platform error (the message says which) or the confirmation was declined (if it stopped
part-way, run keel rollback again); 2 bad keel.yaml or options, or no valid target; 3 the environment is
locked by another keel; 5 traffic switched but the target did not become ready (a human is needed)."""


def _rollback_exit(final: Rollout) -> int:
    from keel.rollout.phases import Phase

    return {Phase.ROLLED_BACK: 0, Phase.FAILED: 0, Phase.ROLLBACK_FAILED: 5}.get(final.phase, 1)


async def _plan(session: Session, steps_back: int | None, revision: str | None) -> dict[str, Any]:
    """What the rollback would do: either undo an interrupted rollout, or switch to a chosen target."""
    from keel.rollout.state import Rollout
    from keel.rollout.targets import candidates, choose_target

    store, platform, env = session.wiring.store, session.wiring.platform, session.env_name
    split = await platform.traffic()
    serving = split.single
    active = store.active_rollout(env)
    if active is not None:
        interrupted = Rollout.from_json(active.state)
        target = interrupted.target
        if (revision is not None and revision != target) or (steps_back not in (None, 1)):
            raise ConfigError(
                f"rollout {interrupted.id} ({interrupted.kind.value} of {interrupted.revision}) was interrupted; "
                f"keel rollback first undoes it (back to {target or 'nothing: it was a first deploy'}), "
                "run it without -n/--revision"
            )
        return {
            "action": "undo_interrupted",
            "rollout": interrupted.id,
            "interrupted_phase": interrupted.phase.value,
            "revision": interrupted.revision,
            "target": target,
            "traffic": dict(split.weights),
        }
    revisions = await platform.revisions()
    target = choose_target(store, env, serving, revisions, steps_back=steps_back, revision=revision)
    return {
        "action": "switch",
        "target": target,
        "serving": serving,
        "traffic": dict(split.weights),
        "candidates": [c.to_json() for c in candidates(store, env, serving, revisions)],
    }


def _describe(plan: dict[str, Any], env: str) -> str:
    traffic = ", ".join(f"{n} {w}%" for n, w in plan["traffic"].items()) or "no traffic"
    if plan["action"] == "undo_interrupted":
        return (
            f"undo interrupted rollout {plan['rollout']} ({plan['revision']}, phase {plan['interrupted_phase']}): "
            f"all traffic to {plan['target'] or '(none: first deploy)'}; now: {traffic}"
        )
    return f"all traffic in {env} to {plan['target']} (now: {traffic}), then verify its readiness"


async def _list(spec: KeelSpec, env: str) -> dict[str, Any]:
    from keel.rollout.targets import candidates
    from keel.rollout.wiring import open_store, platform_of

    store = open_store(spec)
    try:
        platform = platform_of(spec, env)
        split = await platform.traffic()
        found = candidates(store, env, split.single, await platform.revisions())
        active = store.active_rollout(env)
        return {
            "environment": env,
            "traffic": dict(split.weights),
            "unfinished_rollout": active.id if active else None,
            "candidates": [c.to_json() for c in found],
        }
    finally:
        store.close()


def _print_list(term: Terminal, listing: dict[str, Any], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        term.json(listing)
        return
    from rich.table import Table

    traffic = ", ".join(f"{n} {w}%" for n, w in listing["traffic"].items()) or "no traffic"
    term.print(f"serving in {listing['environment']}: {traffic}")
    if listing["unfinished_rollout"]:
        term.print(f"unfinished rollout {listing['unfinished_rollout']}: keel rollback undoes it first")
    if not listing["candidates"]:
        term.print("no earlier served revision to roll back to")
        return
    table = Table("-n", "revision", "served since", "status", "available")
    for c in listing["candidates"]:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c["served_since"]))
        table.add_row(
            str(c["n"]), c["revision"], since, c["status"], "yes" if c["available"] else "no (removed)"
        )
    term.print(table)


async def _switch_back_after_promotion(session: Session, engine: RolloutEngine, target: str) -> Rollout:
    """Undo a deploy interrupted while promoting. Every gate passed and the revision may already have all
    traffic; a promotion cannot be aborted (the engine allows only ``promoting -> promoted``), so finish
    recording it, then switch back to ``target`` and verify it like any manual rollback."""
    from keel.rollout.runner import new_rollback, run_to_rest

    promoted = await run_to_rest(engine, time.time, asyncio.sleep)
    rollout = new_rollback(
        session.wiring.store, service=promoted.service, environment=promoted.environment, target=target,
        serving=promoted.revision, clock=time.time, owner=session.owner.id,
    )  # fmt: skip
    session.lock.heartbeat(rollout.id)
    return await session.drive(session.engine(rollout), resume=False)


async def _rollback(
    spec: KeelSpec,
    env: str,
    steps_back: int | None,
    revision: str | None,
    dry_run: bool,
    yes: bool,
    fmt: OutputFormat,
) -> dict[str, Any]:
    from keel.rollout.phases import Phase
    from keel.rollout.runner import new_rollback, run_to_rest, unfinished

    term = terminal()
    session = Session(spec, env, "rollback", term, live=fmt is OutputFormat.table)
    try:
        session.lock.acquire()
        taken = session.lock.describe_replaced()
        if taken:
            term.warn(taken)
        plan = await _plan(session, steps_back, revision)
        description = _describe(plan, env)
        if dry_run:
            return {"dry_run": True, "plan": plan, "description": description, "exit_code": 0}
        if not yes:
            if not term.interactive:
                raise ConfigError(
                    "keel rollback needs confirmation: refusing to prompt without a terminal; pass --yes"
                )
            if not typer.confirm(f"Roll back: {description}?", default=False, err=True):
                raise typer.Abort()
        store = session.wiring.store
        if plan["action"] == "undo_interrupted":
            engine = session.engine(unfinished(store, env))
            await engine.resume()
            if engine.state.phase is Phase.PROMOTING and plan["target"] is None:
                promoted = await run_to_rest(engine, time.time, asyncio.sleep)
                raise ConfigError(
                    f"rollout {plan['rollout']} was a first deploy interrupted while promoting; it is now "
                    f"promoted ({promoted.revision} serves 100%) and there is no earlier revision to roll "
                    "back to: deploy the one you want instead"
                )
            if engine.state.phase is Phase.PROMOTING:
                final = await _switch_back_after_promotion(session, engine, plan["target"])
            else:
                await engine.abort(f"keel rollback: undoing interrupted rollout {plan['rollout']}")
                final = await session.drive(engine, resume=False)
        else:
            rollout = new_rollback(
                store, service=spec.service, environment=env, target=plan["target"], serving=plan["serving"],
                clock=time.time, owner=session.owner.id,
            )  # fmt: skip
            session.lock.heartbeat(rollout.id)
            final = await session.drive(session.engine(rollout), resume=False)
        result = await session.finish(final)
        result["exit_code"] = _rollback_exit(final)
        result["action"] = plan["action"]
        return result
    finally:
        await session.close()


def rollback(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    steps_back: int | None = typer.Option(
        None, "-n", envvar="KEEL_ROLLBACK_N", help="Go N served revisions back (default 1)."
    ),
    revision: str = typer.Option(
        "", "--revision", "-r", envvar="KEEL_ROLLBACK_REVISION", help="Target revision."
    ),
    list_only: bool = typer.Option(
        False, "--list", envvar="KEEL_ROLLBACK_LIST", help="List rollback targets and exit."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", envvar="KEEL_DRY_RUN", help="Show the plan, change nothing."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", envvar="KEEL_YES", help="Do not ask for confirmation."),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.spec import load_spec

    term = terminal()
    spec = load_spec(spec_file)
    spec.environment(env)
    if steps_back is not None and steps_back < 1:
        raise ConfigError(f"-n {steps_back}: N counts served revisions back and must be 1 or more")
    if steps_back is not None and revision:
        raise ConfigError("-n and --revision exclude each other")
    if list_only:
        _print_list(term, asyncio.run(_list(spec, env)), output_format)
        return
    result = asyncio.run(_rollback(spec, env, steps_back, revision or None, dry_run, yes, output_format))
    if result.get("dry_run"):
        if output_format is OutputFormat.json:
            term.json(result)
        else:
            term.print(f"dry run: would {result['description']}")
        return
    emit_result(term, result, output_format)
    raise typer.Exit(result["exit_code"])


def register(app: typer.Typer) -> None:
    app.command("rollback", help=HELP)(rollback)
