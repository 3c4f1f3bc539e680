/** Inputs common to the integration templates (`stratum scaffold integration …`). */
export interface IntegrationTemplateInput {
  /** Module specifiers as the written file must spell them. */
  clientImport: string;
  modelsImport: string;
  stratumImport: string;
  /** The example tenant model: its name and the client property (`User`, `user`). */
  model: string;
  delegate: string;
  /** Plural route / file segment, e.g. `users`. */
  route: string;
  /** PascalCase plural for function names, e.g. `Users`. */
  plural: string;
}
