//! `toker completions <shell>`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::commands::Ctx;
use crate::error::CliResult;

pub(crate) fn run(ctx: &mut Ctx, args: &CompletionsArgs) -> CliResult {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "toker", &mut ctx.out);
    Ok(())
}
