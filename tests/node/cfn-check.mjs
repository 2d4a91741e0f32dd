#!/usr/bin/env node
// Checks CloudFormation templates against the CloudFormation resource specification (@aws-cdk/cfnspec), the way
// cfn-lint's core rules do, without any AWS access:
//   node cfn-check.mjs template.yaml ...
//   node cfn-check.mjs --dump template.yaml     (prints the template as JSON, short forms expanded)
// Parses the YAML short forms (!Ref, !Sub, !GetAtt, ...); checks every resource type, property name, required
// property and literal value type (nested property types too), every Ref / GetAtt / Sub reference, conditions,
// DependsOn, and that each parameter is used. Prints one JSON line {"files":[{"file","resources","errors":[...]}]};
// exit code 0 when no template has an error, 1 otherwise, 2 on a usage error.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseDocument } from "yaml";

const require = createRequire(import.meta.url);
const spec = require("@aws-cdk/cfnspec").specification();

const INTRINSICS = ["Ref", "Condition", "Fn::Base64", "Fn::Cidr", "Fn::FindInMap", "Fn::GetAtt", "Fn::GetAZs", "Fn::ImportValue",
  "Fn::Join", "Fn::Select", "Fn::Split", "Fn::Sub", "Fn::Transform", "Fn::If", "Fn::Not", "Fn::Equals", "Fn::And", "Fn::Or"];
const PSEUDO = new Set(["AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
  "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"]);
const TOP_LEVEL = new Set(["AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
  "Conditions", "Transform", "Resources", "Outputs"]);
const RESOURCE_KEYS = new Set(["Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy",
  "UpdatePolicy", "CreationPolicy", "Metadata"]);
const PARAMETER_TYPES = /^(String|Number|List<Number>|CommaDelimitedList|AWS::EC2::[A-Za-z]+::[A-Za-z]+(::[A-Za-z]+)?|AWS::Route53::HostedZone::Id|List<AWS::EC2::[A-Za-z]+::[A-Za-z]+(::[A-Za-z]+)?>|List<AWS::Route53::HostedZone::Id>|AWS::SSM::Parameter::(Name|Value<.+>))$/;

// YAML short forms -> the long (JSON) forms.
function tag(name, transform = (v) => v) {
  const long = name === "Ref" || name === "Condition" ? name : `Fn::${name}`;
  return ["scalar", "seq", "map"].map((kind) => ({
    tag: `!${name}`,
    collection: kind === "scalar" ? undefined : kind,
    resolve: (value) => ({ [long]: transform(kind === "scalar" ? value : value.toJSON()) }),
  }));
}
const customTags = [
  ...tag("Ref"), ...tag("Condition"), ...tag("Base64"), ...tag("Cidr"), ...tag("FindInMap"), ...tag("GetAZs"),
  ...tag("ImportValue"), ...tag("Join"), ...tag("Select"), ...tag("Split"), ...tag("Sub"), ...tag("Transform"),
  ...tag("If"), ...tag("Not"), ...tag("Equals"), ...tag("And"), ...tag("Or"),
  ...tag("GetAtt", (v) => (typeof v === "string" ? [v.slice(0, v.indexOf(".")), v.slice(v.indexOf(".") + 1)] : v)),
];

function parseTemplate(file) {
  const text = readFileSync(file, "utf8");
  if (file.endsWith(".json")) return JSON.parse(text);
  const doc = parseDocument(text, { customTags, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("; "));
  return doc.toJS();
}

function checkTemplate(file) {
  const errors = [];
  const err = (path, message) => errors.push(`${path}: ${message}`);
  let t;
  try {
    t = parseTemplate(file);
  } catch (e) {
    return { file, resources: 0, errors: [`does not parse: ${e.message}`] };
  }
  if (typeof t !== "object" || t === null) return { file, resources: 0, errors: ["not a mapping"] };
  for (const key of Object.keys(t)) if (!TOP_LEVEL.has(key)) err(key, "not a template section");
  const parameters = t.Parameters ?? {};
  const resources = t.Resources ?? {};
  const conditions = t.Conditions ?? {};
  const used = new Set();
  if (Object.keys(resources).length === 0) err("Resources", "a template needs at least one resource");

  for (const [name, p] of Object.entries(parameters)) {
    if (!PARAMETER_TYPES.test(p?.Type ?? "")) err(`Parameters.${name}.Type`, `unknown parameter type ${p?.Type}`);
    if (p?.AllowedValues && p.Default !== undefined && !p.AllowedValues.map(String).includes(String(p.Default))) {
      err(`Parameters.${name}.Default`, `${p.Default} is not among AllowedValues`);
    }
  }

  // References inside any value: Ref, GetAtt, Sub, If/Condition, and the intrinsics' shapes.
  function checkRefs(value, path) {
    if (Array.isArray(value)) return value.forEach((v, i) => checkRefs(v, `${path}[${i}]`));
    if (value === null || typeof value !== "object") return;
    const keys = Object.keys(value);
    if (keys.length === 1 && INTRINSICS.includes(keys[0])) {
      const [fn] = keys;
      const arg = value[fn];
      switch (fn) {
        case "Ref":
          if (typeof arg !== "string") return err(path, "Ref needs a name");
          used.add(arg);
          if (!(arg in parameters) && !(arg in resources) && !PSEUDO.has(arg)) err(path, `Ref to unknown ${arg}`);
          return;
        case "Fn::GetAtt":
          if (!Array.isArray(arg) || arg.length !== 2) return err(path, "GetAtt needs [resource, attribute]");
          return checkGetAtt(arg[0], arg[1], path);
        case "Fn::Sub": {
          const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
          if (typeof text !== "string") return err(path, "Sub needs a string");
          for (const v of Object.values(vars ?? {})) checkRefs(v, path);
          for (const m of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
            const name = m[1];
            if (vars && name in vars) continue;
            if (name.includes(".") && !name.startsWith("AWS::")) {
              checkGetAtt(name.slice(0, name.indexOf(".")), name.slice(name.indexOf(".") + 1), path);
            } else {
              used.add(name);
              if (!(name in parameters) && !(name in resources) && !PSEUDO.has(name)) err(path, `Sub names unknown ${name}`);
            }
          }
          return;
        }
        case "Fn::If":
          if (!Array.isArray(arg) || arg.length !== 3) return err(path, "If needs [condition, then, else]");
          if (!(arg[0] in conditions)) err(path, `If names unknown condition ${arg[0]}`);
          checkRefs(arg[1], path);
          checkRefs(arg[2], path);
          return;
        case "Condition":
          if (!(arg in conditions)) err(path, `unknown condition ${arg}`);
          return;
        case "Fn::Select":
          if (!Array.isArray(arg) || arg.length !== 2) return err(path, "Select needs [index, list]");
          break;
        case "Fn::Join":
          if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== "string") return err(path, "Join needs [delimiter, list]");
          break;
        case "Fn::Cidr":
          if (!Array.isArray(arg) || arg.length !== 3) return err(path, "Cidr needs [block, count, bits]");
          break;
        default:
          break;
      }
      return checkRefs(arg, path);
    }
    for (const [k, v] of Object.entries(value)) checkRefs(v, `${path}.${k}`);
  }

  function checkGetAtt(resource, attribute, path) {
    used.add(resource);
    const r = resources[resource];
    if (!r) return err(path, `GetAtt of unknown resource ${resource}`);
    const attributes = spec.ResourceTypes[r.Type]?.Attributes ?? {};
    if (!(attribute in attributes)) err(path, `${r.Type} has no attribute ${attribute}`);
  }

  const isIntrinsic = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && INTRINSICS.includes(Object.keys(v)[0]);

  function propertyType(resourceType, name) {
    return spec.PropertyTypes[`${resourceType}.${name}`] ?? spec.PropertyTypes[name];
  }

  function checkPrimitive(kind, value, path) {
    if (isIntrinsic(value)) return;
    const ok = {
      String: () => ["string", "number", "boolean"].includes(typeof value),
      Integer: () => Number.isInteger(Number(value)) && typeof value !== "boolean" && value !== "",
      Long: () => Number.isInteger(Number(value)) && typeof value !== "boolean" && value !== "",
      Double: () => !Number.isNaN(Number(value)) && typeof value !== "boolean" && value !== "",
      Boolean: () => typeof value === "boolean" || value === "true" || value === "false",
      Timestamp: () => typeof value === "string",
      Json: () => typeof value === "object" || typeof value === "string",
    }[kind];
    if (ok && !ok()) err(path, `expected ${kind}, got ${JSON.stringify(value)}`);
  }

  // A value against one property's specification (resolving Fn::If to both of its branches).
  function checkValue(resourceType, prop, value, path) {
    if (isIntrinsic(value) && "Fn::If" in value && Array.isArray(value["Fn::If"])) {
      for (const branch of value["Fn::If"].slice(1)) {
        if (!(isIntrinsic(branch) && branch.Ref === "AWS::NoValue")) checkValue(resourceType, prop, branch, path);
      }
      return;
    }
    if (isIntrinsic(value)) return;
    if (prop.PrimitiveType) return checkPrimitive(prop.PrimitiveType, value, path);
    if (prop.Type === "List") {
      if (!Array.isArray(value)) return err(path, `expected a list, got ${JSON.stringify(value)}`);
      return value.forEach((item, i) => {
        if (prop.PrimitiveItemType) checkPrimitive(prop.PrimitiveItemType, item, `${path}[${i}]`);
        else checkObject(resourceType, prop.ItemType, item, `${path}[${i}]`);
      });
    }
    if (prop.Type === "Map") {
      if (typeof value !== "object" || Array.isArray(value)) return err(path, "expected a map");
      return;
    }
    return checkObject(resourceType, prop.Type, value, path);
  }

  function checkObject(resourceType, typeName, value, path) {
    if (isIntrinsic(value)) return;
    const type = propertyType(resourceType, typeName);
    if (!type) return; // a type the spec leaves open
    if (type.PrimitiveType) return checkPrimitive(type.PrimitiveType, value, path);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return err(path, `expected ${typeName} (an object)`);
    checkProperties(resourceType, type.Properties ?? {}, value, path);
  }

  function checkProperties(resourceType, props, value, path) {
    for (const [name, v] of Object.entries(value)) {
      const prop = props[name];
      if (!prop) err(`${path}.${name}`, `unknown property of ${resourceType}`);
      else checkValue(resourceType, prop, v, `${path}.${name}`);
    }
    for (const [name, prop] of Object.entries(props)) {
      if (prop.Required && !(name in value)) err(path, `required property ${name} missing`);
    }
  }

  for (const [name, r] of Object.entries(resources)) {
    const path = `Resources.${name}`;
    for (const key of Object.keys(r ?? {})) if (!RESOURCE_KEYS.has(key)) err(`${path}.${key}`, "not a resource attribute");
    const type = spec.ResourceTypes[r?.Type];
    if (!type) {
      err(`${path}.Type`, `unknown resource type ${r?.Type}`);
      continue;
    }
    checkProperties(r.Type, type.Properties ?? {}, r.Properties ?? {}, `${path}.Properties`);
    checkRefs(r.Properties ?? {}, `${path}.Properties`);
    for (const policy of ["CreationPolicy", "UpdatePolicy", "Metadata"]) if (r[policy]) checkRefs(r[policy], `${path}.${policy}`);
    for (const d of [].concat(r.DependsOn ?? [])) if (!(d in resources)) err(`${path}.DependsOn`, `unknown resource ${d}`);
    if (r.Condition && !(r.Condition in conditions)) err(`${path}.Condition`, `unknown condition ${r.Condition}`);
    for (const policy of ["DeletionPolicy", "UpdateReplacePolicy"]) {
      if (r[policy] && !["Delete", "Retain", "Snapshot", "RetainExceptOnCreate"].includes(r[policy])) err(`${path}.${policy}`, `unknown policy ${r[policy]}`);
    }
  }
  checkRefs(conditions, "Conditions");
  for (const [name, o] of Object.entries(t.Outputs ?? {})) {
    if (o?.Value === undefined) err(`Outputs.${name}`, "needs a Value");
    checkRefs(o, `Outputs.${name}`);
  }
  for (const name of Object.keys(parameters)) if (!used.has(name)) err(`Parameters.${name}`, "never used");
  return { file, resources: Object.keys(resources).length, errors };
}

const args = process.argv.slice(2);
if (args[0] === "--dump" && args.length === 2) {
  // The template as CloudFormation reads it (short forms expanded), for tests that look at values.
  process.stdout.write(JSON.stringify(parseTemplate(args[1])) + "\n");
  process.exit(0);
}
const files = args;
if (files.length === 0) {
  process.stderr.write("usage: node cfn-check.mjs template.yaml ... | --dump template.yaml\n");
  process.exit(2);
}
const results = files.map(checkTemplate);
process.stdout.write(JSON.stringify({ specVersion: spec.ResourceSpecificationVersion, files: results }) + "\n");
process.exit(results.some((r) => r.errors.length > 0) ? 1 : 0);
