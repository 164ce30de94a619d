// Validate an AsyncAPI document with the AsyncAPI project's own parser (used by scripts/validate-docs).
//
// Usage: node validate.mjs <asyncapi.json>
// Prints every diagnostic; exits 1 when any has severity error (0), 2 when the file cannot be read.
//
// The parser's v3 ruleset does not run custom schema parsers' validate() (only its v2 ruleset does),
// so every multi-format schema ({schemaFormat, schema}, e.g. the Avro canonical events) is also
// checked here with the schema parser registered for its format.
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";
import { AvroSchemaParser } from "@asyncapi/avro-schema-parser";

const SEVERITY = ["error", "warning", "information", "hint"];
const SCHEMA_PARSERS = [AvroSchemaParser()];

function where(path, range) {
  const at = path.length ? path.join(".") : "(document)";
  return range ? `${at}:${range.start.line + 1}` : at;
}

function multiFormatSchemas(doc) {
  const found = [];
  for (const [channelId, channel] of Object.entries(doc.channels ?? {})) {
    for (const [messageId, message] of Object.entries(channel.messages ?? {})) {
      for (const part of ["payload", "headers"]) {
        const schema = message?.[part];
        if (schema && typeof schema === "object" && "schemaFormat" in schema) {
          found.push({ path: ["channels", channelId, "messages", messageId, part], schema });
        }
      }
    }
  }
  return found;
}

async function schemaDiagnostics(doc) {
  const diagnostics = [];
  for (const { path, schema } of multiFormatSchemas(doc)) {
    const format = schema.schemaFormat;
    if (format.startsWith("application/vnd.aai.asyncapi")) continue; // the parser checks these itself
    const parser = SCHEMA_PARSERS.find((p) => p.getMimeTypes().includes(format));
    if (!parser) {
      diagnostics.push({ severity: 0, code: "schema-format", path, message: `no parser for ${format}` });
      continue;
    }
    const input = { asyncapi: doc, data: schema.schema, path: [...path, "schema"], schemaFormat: format };
    for (const d of await parser.validate(input)) {
      diagnostics.push({ severity: 0, code: "schema-invalid", path: d.path ?? path, message: d.message });
    }
  }
  return diagnostics;
}

async function main(file) {
  if (!file) {
    console.error("usage: node validate.mjs <asyncapi.json>");
    return 2;
  }
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    console.error(`cannot read ${file}: ${error.message}`);
    return 2;
  }
  const parser = new Parser();
  SCHEMA_PARSERS.forEach((p) => parser.registerSchemaParser(p));
  const { document, diagnostics } = await parser.parse(text, { source: file });
  if (document !== undefined) diagnostics.push(...(await schemaDiagnostics(JSON.parse(text))));
  for (const d of diagnostics) {
    console.log(`${SEVERITY[d.severity] ?? d.severity} ${d.code} ${where(d.path, d.range)}: ${d.message}`);
  }
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
  if (errors > 0 || document === undefined) {
    console.error(`${file}: INVALID, ${errors} error(s)`);
    return 1;
  }
  console.log(`${file}: valid AsyncAPI ${document.version()}, 0 errors, ${diagnostics.length} other diagnostic(s)`);
  return 0;
}

process.exitCode = await main(process.argv[2]);
