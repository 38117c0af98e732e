"""``keel deploy --env E``: a gated release (health gate, smoke gate, canary steps with analysis) that rolls
back by itself."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keel.cli.terminal import OutputFormat, Terminal, terminal
from keel.errors import ConfigError

if TYPE_CHECKING:
    from keel.cli.progress import RolloutView
    from keel.notify.dispatch import Dispatcher
    from keel.rollout.engine import RolloutEngine
    from keel.rollout.guards import EnvironmentLock
    from keel.rollout.state import Rollout
    from keel.rollout.wiring import Wiring
    from keel.spec import KeelSpec

EXIT_CODES_HELP = (
    "Exit codes: 0 promoted; 1 stopped at a gate (no traffic moved) or rolled back (traffic restored and "
    "verified); 2 bad keel.yaml or options; 3 the environment is locked by another keel, or an interrupted "
    "rollout must be resumed or rolled back first; 4 paused (analysis inconclusive, on_inconclusive: pause); "
    "5 rollback failed verification (a human is needed); 130 interrupted twice."
)

HELP = f"""Release a new revision of the service to environment E: deploy it with no traffic, wait until it is
ready (health gate), run the smoke gate against its own URL, then shift traffic step by step while analysing
it, and promote it or roll back to the revision that served before. Ctrl-C or SIGTERM aborts: traffic goes
back to the previous revision. After a kill -9, `--resume` continues and `keel rollback` undoes.
A Markdown summary goes to $GITHUB_STEP_SUMMARY when it is set. {EXIT_CODES_HELP}"""

ENV_OPTION = typer.Option("local", "--env", "-e", envvar="KEEL_ENV", help="Environment in keel.yaml.")
FILE_OPTION = typer.Option(Path("keel.yaml"), "--file", "-f", envvar="KEEL_FILE", help="The spec file.")
FORMAT_OPTION = typer.Option(OutputFormat.table, "--format", envvar="KEEL_FORMAT", help="Output format.")


# Rollout events that go to notification channels (the terminal and the store get all of them).
NOTIFIED = frozenset(
    {"deploying", "resumed", "paused", "promoted", "failed", "rolling_back", "rolled_back", "rollback_failed"}
)


def parse_assignments(values: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            raise ConfigError(f"{option} {item.split('=')[0]!r}: expected KEY=VALUE")
        out[key] = value
    return out


class Session:
    """What one deploy or rollback command holds: wiring, lock, notifications and the live view."""

    def __init__(self, spec: KeelSpec, env_name: str, command: str, term: Terminal, live: bool) -> None:
        from keel.cli.progress import RolloutView
        from keel.notify.dispatch import Dispatcher
        from keel.notify.registry import create_notifiers
        from keel.rollout.guards import EnvironmentLock, this_process
        from keel.rollout.state import random_token
        from keel.rollout.wiring import wire

        self.spec = spec
        self.env_name = env_name
        self.term = term
        self.wiring: Wiring = wire(spec, env_name)
        self.owner = this_process(command, random_token(6))
        self.lock: EnvironmentLock = EnvironmentLock(
            self.wiring.store, env_name, self.owner, time.time, keepalive=True
        )
        notifiers, warnings = create_notifiers(spec.notify.channels, timeout=spec.notify.timeout)
        for warning in warnings:
            term.warn(warning)
        self.dispatcher: Dispatcher = Dispatcher(notifiers, timeout=spec.notify.timeout)
        self.view: RolloutView = RolloutView(term, live=live)
        self._stop_requested = False

    def listener(self, event: Any) -> None:
        if event.kind in NOTIFIED:  # people hear about outcomes, not about every look
            self.dispatcher.emit(event)
        self.view.on_event(event)

    def engine(self, rollout: Rollout) -> RolloutEngine:
        from keel.rollout.engine import RolloutEngine

        w = self.wiring
        return RolloutEngine(
            rollout,
            store=w.store,
            platform=w.platform,
            prober=w.prober,
            smoke=w.smoke,
            analyzer=w.analyzer,
            settings=w.settings,
            clock=time.time,
            listener=self.listener,
            lock=self.lock,
        )

    def _request_stop(self) -> None:
        if self._stop_requested:  # a second Ctrl-C: leave now; the record allows --resume or keel rollback
            raise KeyboardInterrupt
        self._stop_requested = True
        self.term.warn("interrupted: aborting the rollout (traffic goes back to the previous revision)")

    async def drive(self, engine: RolloutEngine, resume: bool) -> Rollout:
        """Run to rest; SIGINT/SIGTERM abort the release instead of leaving traffic split."""
        from keel.rollout.runner import run_to_rest

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._request_stop)
        try:
            with self.view:
                if resume:
                    await engine.resume()
                self.view.tick(engine.state)
                try:
                    state = await run_to_rest(
                        engine,
                        time.time,
                        asyncio.sleep,
                        on_tick=self.view.tick,
                        stop=lambda: self._stop_requested,
                    )
                except Exception as exc:
                    state = await self._recover(engine, exc)
                if self._stop_requested and not state.phase.terminal:
                    await engine.abort("aborted by the operator (interrupt)")
                    state = await run_to_rest(engine, time.time, asyncio.sleep, on_tick=self.view.tick)
                return state
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    async def _recover(self, engine: RolloutEngine, error: Exception) -> Rollout:
        """A step failed unexpectedly (the platform went away, say): if user traffic may be split, try once to
        roll back; either way the record stays, so --resume or keel rollback can finish the job."""
        from keel.rollout.runner import run_to_rest

        state = engine.state
        if state.phase.terminal or not state.phase.traffic_may_be_split or state.kind.value != "deploy":
            raise error
        self.term.warn(f"{type(error).__name__}: {error}; rolling back")
        try:
            await engine.abort(f"aborted after an error: {error}")
            return await run_to_rest(engine, time.time, asyncio.sleep, on_tick=self.view.tick)
        except Exception:
            raise error from None

    async def finish(self, final: Rollout) -> dict[str, Any]:
        """Let pending notifications finish (bounded), then build the report from the store."""
        from keel.rollout.summary import report

        await self.dispatcher.aclose()
        failures = [f"{f.channel} ({f.kind}): {f.message}" for f in self.dispatcher.failures]
        return report(self.wiring.store, final, failures)

    async def close(self) -> None:
        self.lock.release()
        await self.dispatcher.aclose()
        self.wiring.store.close()


def emit_result(term: Terminal, result: dict[str, Any], output_format: OutputFormat) -> None:
    """The result on stdout in the chosen format; the Markdown summary also to $GITHUB_STEP_SUMMARY."""
    from keel.rollout.summary import markdown

    text = markdown(result)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as exc:
            term.warn(f"cannot write $GITHUB_STEP_SUMMARY: {exc.strerror}")
    if output_format is OutputFormat.json:
        term.json(result)
    elif output_format is OutputFormat.markdown:  # verbatim: no Rich markup, emoji codes or wrapping
        term.out.print(text, markup=False, highlight=False, emoji=False, end="")
    else:
        style = "green" if result["exit_code"] == 0 else "yellow" if result["exit_code"] in (1, 4) else "red"
        term.print(f"[bold {style}]{result['phase'].replace('_', ' ')}[/bold {style}]: {result['reason']}")
        if result.get("cause"):
            term.print(f"cause: {result['cause']}")
        last = result.get("last_verdict")
        if last:
            from keel.rollout.summary import deciding_lines

            term.print(
                f"last look ({last.get('judge')} judge, step {last['step'] + 1}, look {last['look']}):"
            )
            for line in deciding_lines(result):
                term.print(f"  {line}")
        rollback = result.get("rollback")
        if rollback and rollback.get("seconds_from_failure_to_switch") is not None:
            after = "the failure" if result["kind"] == "deploy" else "the rollback started"
            term.print(
                f"traffic back on {rollback['target']} {rollback['seconds_from_failure_to_switch']:.3f}s after "
                f"{after}; {'verified ready' if rollback['verified'] else 'NOT verified ready'}"
            )
        term.print(f"rollout {result['rollout']} of {result['revision']} in {result['environment']}")
        if result["kind"] == "deploy":
            from keel.cli.charts import release_charts

            term.print(release_charts(result, width=min(term.out.width, 100)))


async def run_deploy(
    spec: KeelSpec, env: str, values: dict[str, str], image: str | None, resume: bool, fmt: OutputFormat
) -> dict[str, Any]:
    from keel.rollout.runner import new_deploy, unfinished

    term = terminal()
    session = Session(spec, env, "deploy", term, live=fmt is OutputFormat.table)
    try:
        session.lock.acquire()
        taken = session.lock.describe_replaced()
        if taken:
            term.warn(taken)
        store = session.wiring.store
        if resume:
            rollout = unfinished(store, env)
            if rollout.kind.value != "deploy":
                raise ConfigError(
                    f"the unfinished rollout {rollout.id} is a rollback: finish it with keel rollback"
                )
        else:
            rollout = new_deploy(
                store, service=spec.service, environment=env, steps=spec.strategy.steps(), clock=time.time,
                revision_env=values, image=image, owner=session.owner.id,
            )  # fmt: skip
        session.lock.heartbeat(rollout.id)
        term.info(
            f"{'resuming' if resume else 'releasing'} {rollout.revision} to {env} (rollout {rollout.id})"
        )
        # the statistics (NumPy, SciPy: ~1.5 s of CPU) load in a thread while the gates run, not on the event
        # loop at the first look, where they would stall the rollout's timers
        preload = asyncio.create_task(asyncio.to_thread(_preload_statistics))
        final = await session.drive(session.engine(rollout), resume)
        await preload
        return await session.finish(final)
    finally:
        await session.close()


def _preload_statistics() -> None:
    import keel.analysis.judges.compare  # noqa: F401


def deploy(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    set_env: list[str] = typer.Option(
        [], "--set", "-s", envvar="KEEL_SET", help="KEY=VALUE added to the new revision's environment."
    ),
    image: str = typer.Option(
        "", "--image", envvar="KEEL_IMAGE", help="Container image (container platforms)."
    ),
    resume: bool = typer.Option(
        False, "--resume", envvar="KEEL_RESUME", help="Continue an interrupted rollout."
    ),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.spec import load_spec

    term = terminal()
    spec = load_spec(spec_file)  # everything is validated before anything starts
    spec.environment(env)
    values = parse_assignments(set_env, "--set")
    if resume and (values or image):
        raise ConfigError("--resume continues the recorded rollout: --set and --image cannot change it")
    result = asyncio.run(run_deploy(spec, env, values, image or None, resume, output_format))
    emit_result(term, result, output_format)
    raise typer.Exit(result["exit_code"])


def register(app: typer.Typer) -> None:
    app.command("deploy", help=HELP)(deploy)
