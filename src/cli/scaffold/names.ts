/** Naming conventions shared by the scaffold templates (the repo's own models follow them: User → users). */

/** `InvoiceLine` → `invoice_line`, `APIKey` → `api_key`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

/** `invoice_line` → `invoiceLine`. */
export function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** English plural, good enough for table and route names (users, addresses, categories). */
export function pluralize(word: string): string {
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}

/** The Prisma client's property for a model: the name with its first letter lowered (`APIKey` → `aPIKey`). */
export function delegateName(model: string): string {
  return model.charAt(0).toLowerCase() + model.slice(1);
}

/** `InvoiceLine` → `invoice-lines`, for routes and file names. */
export function routeName(model: string): string {
  return pluralize(snakeCase(model)).replace(/_/g, "-");
}
