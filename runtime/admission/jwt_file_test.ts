import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { UnauthorizedError } from "../../errors.ts";
import { readJwtFile } from "./jwt_file.ts";

Deno.test("readJwtFile: trimmed, and re-read on every call", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "token");
    await Deno.writeTextFile(path, "  aaa.bbb.ccc\r\n\n");
    assert.equal(await readJwtFile(path), "aaa.bbb.ccc");
    await Deno.writeTextFile(path, "ddd.eee.fff\n");
    assert.equal(await readJwtFile(path), "ddd.eee.fff", "a rotated token is seen at once");
    assert.equal(await readJwtFile(pathToFileURL(path)), "ddd.eee.fff");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readJwtFile: missing, blank or unreadable files are UnauthorizedError with a clear message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = join(dir, "nope");
    await assert.rejects(() => readJwtFile(missing), (err: unknown) => {
      assert.ok(err instanceof UnauthorizedError);
      assert.equal(err.message, `Cannot read join token file: ${JSON.stringify(missing)} does not exist`);
      assert.equal((err.cause as { code?: string }).code, "ENOENT");
      return true;
    });
    const blank = join(dir, "blank");
    await Deno.writeTextFile(blank, " \n\t\n");
    await assert.rejects(() => readJwtFile(blank), {
      name: "UnauthorizedError",
      message: `Cannot read join token file: ${JSON.stringify(blank)} is empty`,
    });
    await assert.rejects(() => readJwtFile(dir), UnauthorizedError, "a directory");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readJwtFile: a bad path argument is a TypeError", async () => {
  await assert.rejects(() => readJwtFile(""), {
    name: "TypeError",
    message: 'Cannot read join token file: path must be a non-empty string or a URL (got "")',
  });
  await assert.rejects(() => readJwtFile(7 as never), /got number/);
});

Deno.test("readJwtFile: file URLs from pathToFileURL work", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "x.y.z");
    assert.equal(await readJwtFile(pathToFileURL(path)), "x.y.z");
  } finally {
    await Deno.remove(path);
  }
});
