// One parser for the port options of the commands that listen (sandbox, dashboard, webhook, demo).
import { ConfigError } from "../config/errors.js";

/** A TCP port 0–65535 (0 picks a free one), or a usage error naming the option and the command. */
export function parsePort(value: string, option: string, command: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65_535)
    throw new ConfigError(`${option} ${value}: give a port from 0 to 65535`, command);
  return n;
}
