/**
 * The part of a CycloneDX model card that a Hugging Face `config.json` states, and nothing more:
 *
 * | model card                                  | config.json                                               |
 * | ------------------------------------------- | --------------------------------------------------------- |
 * | `modelParameters.modelArchitecture`         | `architectures` (class names, joined with ", ")           |
 * | `modelParameters.architectureFamily`        | `model_type`                                              |
 * | `modelParameters.task`                      | the first of `pipeline_tag`, `task`, `problem_type`, `finetuning_task` |
 *
 * A field the config does not state (or states as something other than a non-empty string) is
 * left out; a config stating none of them gives no model card at all.
 */

export interface ModelCard {
  modelParameters: {
    task?: string;
    architectureFamily?: string;
    modelArchitecture?: string;
  };
}

const TASK_KEYS = ["pipeline_tag", "task", "problem_type", "finetuning_task"] as const;
/** Longer values are not what these fields hold; they are left out rather than copied into a BOM. */
const MAX_VALUE_LENGTH = 256;

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" && value.length <= MAX_VALUE_LENGTH ? value : undefined;
}

export function modelCardFromConfig(config: unknown): ModelCard | undefined {
  if (typeof config !== "object" || config === null || Array.isArray(config)) return undefined;
  const c = config as Record<string, unknown>;
  const architectures = Array.isArray(c.architectures) ? c.architectures.map(text) : [];
  const modelArchitecture = architectures.length > 0 && architectures.every((a) => a !== undefined) ? architectures.join(", ") : undefined;
  const architectureFamily = text(c.model_type);
  const task = TASK_KEYS.map((k) => (Object.hasOwn(c, k) ? text(c[k]) : undefined)).find((t) => t !== undefined);
  if (modelArchitecture === undefined && architectureFamily === undefined && task === undefined) return undefined;
  return {
    modelParameters: {
      ...(task !== undefined ? { task } : {}),
      ...(architectureFamily !== undefined ? { architectureFamily } : {}),
      ...(modelArchitecture !== undefined ? { modelArchitecture } : {}),
    },
  };
}
