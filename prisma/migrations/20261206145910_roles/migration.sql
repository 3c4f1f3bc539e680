-- CreateTable
CREATE TABLE "stratum_role_assignments" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "principal_type" TEXT NOT NULL,
    "principal_id" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stratum_role_assignments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "stratum_role_assignments_principal_type_principal_id_idx" ON "stratum_role_assignments"("principal_type", "principal_id");

-- CreateIndex
CREATE UNIQUE INDEX "stratum_role_assignments_tenant_id_principal_type_principal_key" ON "stratum_role_assignments"("tenant_id", "principal_type", "principal_id", "role");

-- AddForeignKey
ALTER TABLE "stratum_role_assignments" ADD CONSTRAINT "stratum_role_assignments_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "stratum_tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
