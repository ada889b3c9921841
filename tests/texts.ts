// Preloaded by bunfig.toml: in-process runs print the help pages and completion scripts that the
// build bakes into the binary (scripts/texts.ts renders both from login.ts's table).
import { renderTexts } from "../scripts/texts";

Object.assign(globalThis, { WANDB_LOGIN_TEXTS: renderTexts() });
