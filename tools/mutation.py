"""Mutation testing of the mechanisms the course's promises rest on: ``python -m tools.mutation`` (``make mutation``).

mutmut (``requirements-mutation.txt``, configured in ``pyproject.toml`` under ``[tool.mutmut]``) copies the code into
``mutants/``, makes many small changes to it (a ``<`` for a ``<=``, a ``True`` for a ``False``, a line dropped...),
and runs, for each change, the fast tests that call the changed function. A change that no test notices ("survived")
is a behaviour the tests do not pin down. This command tests the functions of ``SCOPE``, starting afresh each time,
and prints the score per module and every surviving mutant (``mutmut show <name>`` prints its change). Where a
survivor is harmless, CONTRIBUTING ("Mutation testing") lists it with the reason. Offline; about half an hour on two
cores (CONTRIBUTING gives the times).

    python -m tools.mutation             # the whole scope
    python -m tools.mutation utils.data  # the scope of one module
    python -m tools.mutation --report    # the scores of the last run again (also of an interrupted one)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: module -> the functions (methods as ``Class.method``) whose mutants are tested; None: every function of the module.
SCOPE: dict[str, tuple[str, ...] | None] = {
    # the checks framework: the registry, call / run_answer, findings and verdicts, progress(), close, hints
    "utils.checks": None,
    # quick mode, seeds, and the claims the text may state
    "utils.course": ("quick", "epochs", "seed_shift", "seed", "seeds", "reseed", "claim", "claim_runs",
                     "claim_interval"),
    # where prices come from (download, cache, bundled copy) and the cache writer
    "utils.data": ("is_offline", "load_prices", "_holds_range", "_cache_path", "_write_cache", "_read_cache",
                   "_local_sources", "_read_bundled"),
    # the decoders
    "utils.seq2seq": ("run_decoder", "beam_search", "greedy_decode_batch", "attention_map", "_reading_order"),
    # the builder's protection rule: a student notebook is overwritten only while its cells are as generated
    "tools.build_notebooks": ("write_student", "_ran_cells", "fingerprint", "stamp"),
}

KILLED = {"killed", "timeout"}  # a timeout is a mutant that made the tests run on forever: noticed
_RESULT = re.compile(r"^\s*(\S+): (.+)$")


def patterns(modules) -> list[str]:
    """mutmut's names for the mutants of ``modules``' scope: ``utils.data.x_load_prices__mutmut_3`` (methods:
    ``module.xǁClassǁmethod__mutmut_N``)."""
    names = []
    for module in modules:
        functions = SCOPE[module]
        if functions is None:
            names.append(f"{module}.x*__mutmut_*")
            continue
        for function in functions:
            owner, _, method = function.rpartition(".")
            names.append(f"{module}.xǁ{owner}ǁ{method}__mutmut_*" if owner else f"{module}.x_{function}__mutmut_*")
    return names


def _module_of(mutant: str) -> str | None:
    return next((m for m in sorted(SCOPE, key=len, reverse=True) if mutant.startswith(m + ".x")), None)


def results(mutmut: Path, modules) -> dict[str, dict[str, str]]:
    """module -> {mutant name: status} for the mutants in the scope of ``modules``, from mutmut's stored results."""
    out = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    chosen = [re.compile(_glob(p)) for p in patterns(modules)]
    found: dict[str, dict[str, str]] = {m: {} for m in modules}
    for line in out.splitlines():
        match = _RESULT.match(line)
        if match and any(c.fullmatch(match.group(1)) for c in chosen):
            found[_module_of(match.group(1))][match.group(1)] = match.group(2).strip()
    return found


def _glob(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def report(found: dict[str, dict[str, str]]) -> tuple[int, int]:
    """Print the score per module (killed / tested; "not checked": an interrupted run) and the mutants not killed.

    Returns (killed, tested)."""
    killed = tested = 0
    print(f"\n{'module':<24}{'killed':>8}{'tested':>8}{'score':>8}   other outcomes")
    for module, statuses in found.items():
        counts = Counter(statuses.values())
        done, ran = sum(counts[s] for s in KILLED), len(statuses) - counts["not checked"]
        killed, tested = killed + done, tested + ran
        other = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in KILLED)
        print(f"{module:<24}{done:>8}{ran:>8}{(f'{100 * done / ran:.1f}%' if ran else '-'):>8}   {other}")
    print(f"{'all':<24}{killed:>8}{tested:>8}{(f'{100 * killed / tested:.1f}%' if tested else '-'):>8}")
    survivors = sorted(name for statuses in found.values() for name, s in statuses.items()
                       if s not in KILLED | {"not checked"})
    if survivors:
        print("\nNot killed (`mutmut show <name>` prints the change; CONTRIBUTING lists those judged harmless):")
        for name in survivors:
            print(f"  {name}: {found[_module_of(name)][name]}")
    return killed, tested


def main(argv: list[str] | None = None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    only_report = "--report" in args
    modules = [a for a in args if a != "--report"] or list(SCOPE)
    unknown = [m for m in modules if m not in SCOPE]
    if unknown:
        print(f"not in the mutation scope: {', '.join(unknown)}; choose from {', '.join(SCOPE)}")
        return 2
    mutmut = Path(sys.executable).parent / "mutmut"
    if not mutmut.exists():
        print(f"mutmut is not installed in this environment: {sys.executable} -m pip install -r "
              "requirements-mutation.txt (or run `make mutation`)")
        return 2
    if only_report:
        return 0 if report(results(mutmut, modules))[1] else 1
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # a fresh copy: results never describe older code
    run = subprocess.run([str(mutmut), "run", *patterns(modules)], cwd=ROOT)
    if run.returncode != 0:
        print(f"mutmut run failed (exit code {run.returncode}); see its output above")
        return run.returncode
    killed, tested = report(results(mutmut, modules))
    return 0 if tested else 1


if __name__ == "__main__":
    sys.exit(main())
