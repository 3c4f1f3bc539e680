-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "ltree";

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "ssn" TEXT,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tickets" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "author_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tickets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_tenants" (
    "id" UUID NOT NULL,
    "parent_id" UUID,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "path" ltree,
    "depth" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'active',
    "isolation_strategy" TEXT NOT NULL DEFAULT 'SHARED_RLS',
    "placement" TEXT,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "archived_at" TIMESTAMPTZ(6),

    CONSTRAINT "stratum_tenants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_scope_keys" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_scope_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_scope_tokens" (
    "token" TEXT NOT NULL,
    "tenant_id" UUID NOT NULL,
    "mode" TEXT NOT NULL,
    "key_id" INTEGER NOT NULL,

    CONSTRAINT "stratum_scope_tokens_pkey" PRIMARY KEY ("token")
);

-- CreateTable
CREATE TABLE "stratum_config" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "value" JSONB,
    "locked" BOOLEAN NOT NULL DEFAULT false,
    "sensitive" BOOLEAN NOT NULL DEFAULT false,
    "encrypted_value" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_config_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_permissions" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "mode" TEXT NOT NULL,
    "revocation_mode" TEXT NOT NULL DEFAULT 'CASCADE',
    "revoked_at" TIMESTAMPTZ(6),
    "delegated_from" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_permissions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_audit" (
    "id" BIGSERIAL NOT NULL,
    "tenant_id" UUID,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_type" TEXT,
    "target_id" TEXT,
    "before" JSONB,
    "after" JSONB,
    "request_id" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_audit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_api_keys" (
    "id" UUID NOT NULL,
    "tenant_id" UUID,
    "name" TEXT NOT NULL,
    "key_hash" TEXT NOT NULL,
    "scopes" TEXT[],
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(6),
    "last_used_at" TIMESTAMPTZ(6),

    CONSTRAINT "stratum_api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_webhooks" (
    "id" UUID NOT NULL,
    "tenant_id" UUID,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "events" TEXT[],
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_webhooks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_deliveries" (
    "id" UUID NOT NULL,
    "webhook_id" UUID NOT NULL,
    "event" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_consents" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "subject_id" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "granted" BOOLEAN NOT NULL,
    "source" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_consents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_isolation_moves" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "from_strategy" TEXT NOT NULL,
    "to_strategy" TEXT NOT NULL,
    "from_placement" TEXT,
    "to_placement" TEXT,
    "step" TEXT NOT NULL,
    "row_counts" JSONB NOT NULL DEFAULT '{}',
    "error" TEXT,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),

    CONSTRAINT "stratum_isolation_moves_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stratum_abac_policies" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "effect" TEXT NOT NULL,
    "actions" TEXT[],
    "resource_type" TEXT,
    "conditions" JSONB NOT NULL DEFAULT '[]',
    "priority" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_abac_policies_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_tenant_id_email_key" ON "users"("tenant_id", "email");

-- CreateIndex
CREATE UNIQUE INDEX "users_tenant_id_id_key" ON "users"("tenant_id", "id");

-- CreateIndex
CREATE INDEX "tickets_tenant_id_idx" ON "tickets"("tenant_id");

-- CreateIndex
CREATE UNIQUE INDEX "stratum_tenants_slug_key" ON "stratum_tenants"("slug");

-- CreateIndex
CREATE INDEX "stratum_tenants_parent_id_idx" ON "stratum_tenants"("parent_id");

-- CreateIndex
CREATE INDEX "stratum_tenants_path_idx" ON "stratum_tenants" USING GIST ("path" gist_ltree_ops);

-- CreateIndex
CREATE UNIQUE INDEX "stratum_config_tenant_id_key_key" ON "stratum_config"("tenant_id", "key");

-- CreateIndex
CREATE UNIQUE INDEX "stratum_permissions_tenant_id_key_key" ON "stratum_permissions"("tenant_id", "key");

-- CreateIndex
CREATE INDEX "stratum_audit_tenant_id_id_idx" ON "stratum_audit"("tenant_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "stratum_api_keys_key_hash_key" ON "stratum_api_keys"("key_hash");

-- CreateIndex
CREATE INDEX "stratum_deliveries_status_next_attempt_at_idx" ON "stratum_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "stratum_consents_tenant_id_subject_id_purpose_created_at_idx" ON "stratum_consents"("tenant_id", "subject_id", "purpose", "created_at");

-- CreateIndex
CREATE INDEX "stratum_isolation_moves_tenant_id_started_at_idx" ON "stratum_isolation_moves"("tenant_id", "started_at");

-- CreateIndex
CREATE UNIQUE INDEX "stratum_abac_policies_tenant_id_name_key" ON "stratum_abac_policies"("tenant_id", "name");

-- AddForeignKey
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_tenant_id_author_id_fkey" FOREIGN KEY ("tenant_id", "author_id") REFERENCES "users"("tenant_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stratum_tenants" ADD CONSTRAINT "stratum_tenants_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "stratum_tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stratum_config" ADD CONSTRAINT "stratum_config_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "stratum_tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stratum_permissions" ADD CONSTRAINT "stratum_permissions_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "stratum_tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stratum_deliveries" ADD CONSTRAINT "stratum_deliveries_webhook_id_fkey" FOREIGN KEY ("webhook_id") REFERENCES "stratum_webhooks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stratum_consents" ADD CONSTRAINT "stratum_consents_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "stratum_tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stratum_abac_policies" ADD CONSTRAINT "stratum_abac_policies_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "stratum_tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
