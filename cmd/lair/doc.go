// Command lair is the command line of lair: it validates, plans, runs and
// inspects declarative DAGs of retrieval stages (see package pipeline).
//
//	lair run DAG [--store DIR|URL] [--jobs N] [--force STAGE]... [--mirror DIR|URL]
//	             [--cache DIR] [--threads N] [--set NAME=VALUE]... [--quiet|--verbose]
//	lair validate DAG [--set NAME=VALUE]... [--plan]
//	lair stages [TYPE]
//	lair graph DAG [--format mermaid|dot]
//	lair runs [ID] [--dir DIR]
//	lair show FILE [--format table|jsonl|csv] [--limit N]
//	lair gc [--dir DIR | --dag DAG] [--store DIR|URL] [--dry-run]
//	lair verify [--dir DIR | --dag DAG] [--store DIR|URL] [--rerun N]
//	lair stage run DAG INSTANCE --store URL [--key KEY]
//	lair export argo DAG --store URL
//	lair model new [flags] DIR
//	lair version
//
// Every command is one entry of internal/cli's command table.
//
// Exit codes: 0 success, 1 the run (or command) failed, 2 bad input
// (usage, DAG validation).
//
// main is thin over run(ctx, stdout, stderr, args), which registers lair's
// stage types and calls internal/cli.Run; the end-to-end scripts in
// testdata/script run through internal/cli's tests with debug stage types,
// so they do not depend on the real stages.
package main
