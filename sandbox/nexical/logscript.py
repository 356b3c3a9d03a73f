"""Believable build and deploy output, shared by the demo data and the simulated worker."""

import random

GREEN = "\u001b[32m"
YELLOW = "\u001b[33m"
RED = "\u001b[31m"
BOLD = "\u001b[1m"
RESET = "\u001b[0m"


def group(name: str, lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A step as a collapsible group, in GitHub's workflow-command form (the dashboard folds it)."""
    return [("info", f"::group::{name}"), *lines, ("info", "::endgroup::")]


def job_script(job_type: str, *, fail: bool, rng: random.Random | None = None) -> list[tuple[str, str]]:
    """(level, message) lines of one job run, its steps in groups; a failing run's last group ends
    in an error."""
    rng = rng or random.Random()
    commit = "".join(rng.choice("0123456789abcdef") for _ in range(7))
    packages = rng.randint(180, 1400)
    install = [("info", f"Installing dependencies ({packages} packages)")]
    if rng.random() < 0.6:
        install.append(("warn", f"{YELLOW}warn{RESET} deprecated: glob@7.2.3 is no longer supported"))
    lines = [
        ("info", f"{BOLD}==> Starting {job_type} job{RESET}"),
        *group(
            "Checkout",
            [("info", f"Cloning repository at {commit}\nremote: Enumerating objects: {packages * 3}, done.")],
        ),
        *group("Install", install),
        *group(
            "Build",
            [
                ("info", "Running build\n  compiling 214 modules\n  emitting assets"),
                ("info", f"{GREEN}✓{RESET} Built in {rng.uniform(4, 40):.1f}s"),
            ],
        ),
    ]
    if fail:
        failure = ("error", f"{RED}error{RESET} Step failed: exit code 1\n  at deploy (scripts/deploy.sh:42)")
        return lines + group(
            "Deploy" if job_type == "deploy" else "Run", [("info", "Running scripts/deploy.sh"), failure]
        )
    if job_type == "deploy":
        lines += group(
            "Deploy",
            [("info", "Uploading artifacts (12.4 MB)"), ("info", "Switching traffic to the new release")],
        )
    lines.append(("info", f"{GREEN}{BOLD}✔ {job_type} finished{RESET}"))
    return lines
