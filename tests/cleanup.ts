// Preloaded by bunfig.toml: what runs once after every test file of a run.
import { afterAll } from "bun:test";
import { removeTempDirs } from "./helpers";

afterAll(removeTempDirs);
