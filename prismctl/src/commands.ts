import { ADMIN_COMMANDS } from "./admin-commands.js";
import { BACKFILL_COMMANDS } from "./backfill-commands.js";
import type { Commands } from "./cli.js";
import { GRAPH_COMMANDS } from "./graph-commands.js";
import { KV_COMMANDS } from "./kv-commands.js";
import { LOGIN_COMMANDS } from "./login-commands.js";
import { PII_COMMANDS } from "./pii-commands.js";
import { SHADOW_COMMANDS } from "./shadow-commands.js";
import { TS_COMMANDS } from "./ts-commands.js";

export { type CliContext, UsageError } from "./cli.js";

/** Every command, by its words. */
export const COMMANDS: Commands = {
  ...KV_COMMANDS,
  ...TS_COMMANDS,
  ...GRAPH_COMMANDS,
  ...ADMIN_COMMANDS,
  ...LOGIN_COMMANDS,
  ...PII_COMMANDS,
  ...SHADOW_COMMANDS,
  ...BACKFILL_COMMANDS,
};
