"""`gan-explorer verify FILE|FOLDER...`: Content Credentials, watermark and provenance of each file.

Exit codes (the worst file decides): 0 every file came from gan_explorer (valid credentials or our
watermark found), 1 a file with nothing found (which proves nothing: re-saved, screenshot, or not
ours), 3 a file whose credentials are invalid (changed after it was signed), 2 a usage error or an
unreadable file.
"""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify", help="check pictures and videos for Content Credentials, our watermark and provenance",
        description="Per file: Content Credentials (present, valid, whose key), the invisible watermark "
                    "(confidence, model hash prefix) and whether the provenance restores a state. Folders "
                    "are checked recursively. Exit 0: all from gan_explorer; 1: some with nothing found "
                    "(absence proves nothing); 3: some changed after signing; 2: usage error or unreadable.")
    p.add_argument("paths", nargs="+", metavar="FILE|FOLDER", help="pictures, videos or folders of them")
    p.add_argument("--quiet", action="store_true", help="only the summary line")
    p.set_defaults(func=cmd_verify)


def cmd_verify(args) -> int:
    from gan_explorer.core.trust.verify import collect, exit_code, summary, verify_file

    files = collect(args.paths)
    reports = []
    for path in files:
        report = verify_file(path)
        reports.append(report)
        if not args.quiet:
            print("\n".join(report.lines()), flush=True)
    if len(reports) != 1 or args.quiet:
        print(summary(reports))
    args.exit_code = exit_code(reports)  # cli.main returns it
