// Generated from prisma/schema/stratum.prisma by src/cli/templates/sync.ts. Do not edit here.
/** stratum's own models, written by `stratum init` as <schema folder>/stratum.prisma. */
export const STRATUM_MODELS_PRISMA = `// stratum-prisma models. Written by \`stratum init\`; regenerate rather than edit by hand.
// The ltree \`path\` is filled by a trigger, so Prisma's create stays usable.

/// @stratum.global
model StratumTenant {
  id                 String              @id @default(uuid()) @db.Uuid
  parent_id          String?             @db.Uuid
  slug               String              @unique
  name               String
  path               Unsupported("ltree")?
  depth              Int                 @default(0)
  status             String              @default("active")
  isolation_strategy String              @default("SHARED_RLS")
  placement          String?
  metadata           Json                @default("{}")
  created_at         DateTime            @default(now()) @db.Timestamptz(6)
  updated_at         DateTime            @default(now()) @updatedAt @db.Timestamptz(6)
  archived_at        DateTime?           @db.Timestamptz(6)
  parent             StratumTenant?      @relation("StratumTree", fields: [parent_id], references: [id], onDelete: Restrict)
  children           StratumTenant[]     @relation("StratumTree")
  config             StratumConfig[]
  permissions        StratumPermission[]
  consents           StratumConsent[]
  abac_policies      StratumAbacPolicy[]
  role_assignments   StratumRoleAssignment[]

  @@index([parent_id])
  /// listTenants pages in creation order.
  @@index([created_at, id])
  @@index([path(ops: raw("gist_ltree_ops"))], type: Gist)
  @@map("stratum_tenants")
}

/// The keys that sign tenant scopes: id 1 the current one, id 2 the previous one while a rotation
/// is rolling out (both accepted until it is retired). Only the owner role can read them.
/// @stratum.global
model StratumScopeKey {
  id         Int      @id @default(1)
  key        String
  created_at DateTime @default(now()) @db.Timestamptz(6)

  @@map("stratum_scope_keys")
}

/// Every valid scope token of this database, signed by triggers with the key above. Owner-only:
/// the policies read it through the view \`stratum_scope_current\` (see the security migration).
/// @stratum.global
model StratumScopeToken {
  token     String @id
  tenant_id String @db.Uuid
  mode      String
  /// The stratum_scope_keys row that signed it (1 current, 2 previous during a rotation).
  key_id    Int

  /// A tenant's deletion drops its tokens.
  @@index([tenant_id])
  @@map("stratum_scope_tokens")
}

/// @stratum.global
model StratumConfig {
  id              String        @id @default(uuid()) @db.Uuid
  tenant_id       String        @db.Uuid
  key             String
  value           Json?
  locked          Boolean       @default(false)
  sensitive       Boolean       @default(false)
  encrypted_value String?
  version         Int           @default(1)
  created_at      DateTime      @default(now()) @db.Timestamptz(6)
  updated_at      DateTime      @default(now()) @updatedAt @db.Timestamptz(6)
  tenant          StratumTenant @relation(fields: [tenant_id], references: [id], onDelete: Cascade)

  @@unique([tenant_id, key])
  @@map("stratum_config")
}

/// @stratum.global
model StratumPermission {
  id              String        @id @default(uuid()) @db.Uuid
  tenant_id       String        @db.Uuid
  key             String
  value           Json
  mode            String
  revocation_mode String        @default("CASCADE")
  revoked_at      DateTime?     @db.Timestamptz(6)
  delegated_from  String?       @db.Uuid
  created_at      DateTime      @default(now()) @db.Timestamptz(6)
  updated_at      DateTime      @default(now()) @updatedAt @db.Timestamptz(6)
  tenant          StratumTenant @relation(fields: [tenant_id], references: [id], onDelete: Cascade)

  @@unique([tenant_id, key])
  @@map("stratum_permissions")
}

/// Append-only: the app role may insert and read, never update or delete.
/// @stratum.global
model StratumAudit {
  id          BigInt   @id @default(autoincrement())
  tenant_id   String?  @db.Uuid
  actor       String
  action      String
  target_type String?
  target_id   String?
  before      Json?
  after       Json?
  request_id  String?
  created_at  DateTime @default(now()) @db.Timestamptz(6)

  @@index([tenant_id, id])
  @@map("stratum_audit")
}

/// @stratum.global
model StratumApiKey {
  id           String    @id @default(uuid()) @db.Uuid
  tenant_id    String?   @db.Uuid
  name         String
  key_hash     String    @unique
  scopes       String[]
  created_at   DateTime  @default(now()) @db.Timestamptz(6)
  revoked_at   DateTime? @db.Timestamptz(6)
  last_used_at DateTime? @db.Timestamptz(6)
  /// Refused from this time on (expiry, or the end of a rotation's grace period).
  expires_at   DateTime? @db.Timestamptz(6)
  /// Requests per minute for this key when the control plane rate-limits; null: the server's rule.
  rate_limit   Int?

  /// A tenant's keys are listed, and deleted with it, by tenant id.
  @@index([tenant_id])
  @@map("stratum_api_keys")
}

/// @stratum.global
model StratumWebhook {
  id         String            @id @default(uuid()) @db.Uuid
  tenant_id  String?           @db.Uuid
  url        String
  secret     String
  events     String[]
  active     Boolean           @default(true)
  created_at DateTime          @default(now()) @db.Timestamptz(6)
  deliveries StratumDelivery[]

  /// An event looks up its tenant's and ancestors' webhooks by tenant id.
  @@index([tenant_id])
  @@map("stratum_webhooks")
}

/// @stratum.global
model StratumDelivery {
  id              String         @id @default(uuid()) @db.Uuid
  webhook_id      String         @db.Uuid
  event           String
  payload         Json
  status          String         @default("pending")
  attempts        Int            @default(0)
  last_error      String?
  next_attempt_at DateTime?      @db.Timestamptz(6)
  created_at      DateTime       @default(now()) @db.Timestamptz(6)
  webhook         StratumWebhook @relation(fields: [webhook_id], references: [id], onDelete: Cascade)

  @@index([status, next_attempt_at])
  /// A webhook's deliveries, newest first; also the cascade when a webhook is deleted.
  @@index([webhook_id, created_at])
  @@map("stratum_deliveries")
}

/// History of consents: a withdrawal is a new row, never an update.
/// @stratum.global
model StratumConsent {
  id         String        @id @default(uuid()) @db.Uuid
  tenant_id  String        @db.Uuid
  subject_id String
  purpose    String
  granted    Boolean
  source     String?
  created_at DateTime      @default(now()) @db.Timestamptz(6)
  tenant     StratumTenant @relation(fields: [tenant_id], references: [id], onDelete: Cascade)

  @@index([tenant_id, subject_id, purpose, created_at])
  @@map("stratum_consents")
}

/// Journal of isolation moves, so an interrupted setIsolation can be resumed or rolled back.
/// @stratum.global
model StratumIsolationMove {
  id          String    @id @default(uuid()) @db.Uuid
  tenant_id   String    @db.Uuid
  from_strategy String
  to_strategy String
  from_placement String?
  to_placement String?
  step        String
  row_counts  Json      @default("{}")
  error       String?
  started_at  DateTime  @default(now()) @db.Timestamptz(6)
  finished_at DateTime? @db.Timestamptz(6)

  @@index([tenant_id, started_at])
  @@map("stratum_isolation_moves")
}

/// Attribute-based access policies, inherited down the tenant tree (deny overrides allow).
/// @stratum.global
model StratumAbacPolicy {
  id            String        @id @default(uuid()) @db.Uuid
  tenant_id     String        @db.Uuid
  name          String
  effect        String
  actions       String[]
  resource_type String?
  conditions    Json          @default("[]")
  priority      Int           @default(0)
  created_at    DateTime      @default(now()) @db.Timestamptz(6)
  updated_at    DateTime      @default(now()) @updatedAt @db.Timestamptz(6)
  tenant        StratumTenant @relation(fields: [tenant_id], references: [id], onDelete: Cascade)

  @@unique([tenant_id, name])
  @@map("stratum_abac_policies")
}

/// Who holds which role, and where: the role applies at this tenant and its whole subtree. Roles
/// themselves are permissions (key \`role:<name>\`, value { scopes }) and inherit like them.
/// @stratum.global
model StratumRoleAssignment {
  id             String        @id @default(uuid()) @db.Uuid
  tenant_id      String        @db.Uuid
  /// "api_key" (id: the key's id) or "user" (id: the app's own user id).
  principal_type String
  principal_id   String
  role           String
  created_at     DateTime      @default(now()) @db.Timestamptz(6)
  tenant         StratumTenant @relation(fields: [tenant_id], references: [id], onDelete: Cascade)

  @@unique([tenant_id, principal_type, principal_id, role])
  @@index([principal_type, principal_id])
  @@map("stratum_role_assignments")
}
`;
