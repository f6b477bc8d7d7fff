const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `models.minilm.files["onnx/model.onnx"].sha256`: the JSON path an error names. */
export function jsonPath(...segments: (string | number)[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === "" ? "$" : out;
}
