"""What the Verde `ape run` scripts (job, challenge, defend) share: options with help text, ETH amounts, and
errors as one line.

    @click.command(cls=ChainCommand)
    @signer("The solver's account.")              # offchain/chain/wallet.py: --account and --autosign
    @spec_option
    def cli(account, spec): ...
        with one_line():                 # JobError, SpecError, a refused transaction: one line, exit 1
            ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

import click

from offchain.chain import client
from offchain.chain.reverts import describe_revert
from offchain.verde.job import SpecError
from offchain.verde.market import ETH, JobError, Terms

SPEC_HELP = "JSON spec of the job's VerdeJob fields (docs/verde-cli.md; default: the default VerdeJob)."


spec_option = click.option(
    "--spec", type=click.Path(exists=True, dir_okay=False), default=None, metavar="FILE", help=SPEC_HELP
)
job_id_option = click.option("--job-id", type=int, required=True, help="The JobMarket job (ids start at 1).")
def terms_options(f):
    """A job's market terms as `post` options (payment, stake, solvers, deadlines, dispute window), defaults Terms()'s;
    the command gets them as payment, stake, solvers, join_within, complete_within and window."""
    d = Terms()
    opts = [
        click.option("--payment", type=Eth(), default=str(d.payment_wei / ETH), show_default=True,
                     help="Total payment in ETH, split evenly over the solvers' checkpoints."),
        click.option("--stake", type=Eth(), default=str(d.stake_wei / ETH), show_default=True,
                     help="Each solver's stake in ETH: what a solver shown wrong loses."),
        click.option("--solvers", type=click.IntRange(1), default=d.num_solvers, show_default=True,
                     help="Solvers that must join before the job runs."),
        click.option("--join-within", type=click.IntRange(1), default=d.join_s, show_default=True, metavar="S",
                     help="Seconds from now until the join deadline."),
        click.option("--complete-within", type=click.IntRange(1), default=d.complete_s, show_default=True,
                     metavar="S", help="Seconds from now until the completion deadline (all checkpoints in)."),
        click.option("--window", type=click.IntRange(1), default=d.window_s, show_default=True, metavar="S",
                     help="Seconds each checkpoint stays disputable after it is posted."),
    ]  # fmt: skip
    for opt in reversed(opts):
        f = opt(f)
    return f


poll_option = click.option(
    "--poll", type=float, default=2.0, show_default=True, metavar="S", help="Seconds between looks at the chain."
)


class Eth(click.ParamType):
    """An amount of ETH as a decimal ("0.5"), taken as wei."""

    name = "ETH"

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int):
            return value
        try:
            wei = Decimal(str(value)) * ETH
        except InvalidOperation:
            self.fail(f"{value!r} is not an amount of ETH", param, ctx)
        if wei < 0 or wei != wei.to_integral_value():
            self.fail(f"{value!r} is not a whole number of wei", param, ctx)
        return int(wei)


@contextmanager
def one_line() -> Iterator[None]:
    """A JobError or SpecError, or a transaction the chain refused, as one line (click's `Error: ...`)."""
    try:
        yield
    except (JobError, SpecError) as err:
        raise click.ClickException(str(err)) from None
    except client.TransactionError as err:
        raise click.ClickException(f"refused by the chain: {describe_revert(err)}") from None
