"""Adds the Secrets Manager secrets, all on the stack key, generated names, Retain/Retain.

CloudFormation generates the passwords (database master, koji's database role, kojiweb's Secret).
The hub writes the CA, the builder CA and the admin credentials on first boot; in the template
they hold a constant placeholder that no option changes, so CloudFormation never overwrites what
the hub wrote (review finding 12).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import GetAtt, Sub, Template
from troposphere.secretsmanager import GenerateSecretString, Secret

from .. import ids

PLACEHOLDER = json.dumps({"placeholder": True, "written_by": "the kojistack hub on first boot"},
                         sort_keys=True)
DB_MASTER_USER = "kojimaster"
# RDS master passwords may not contain / @ " or spaces; keep shell- and DSN-friendly.
_EXCLUDE = "\"@/\\'` :;,{}[]()<>|&$#?!*%^~="


@dataclass(frozen=True)
class Secrets:
    db_master: Secret
    koji_db: Secret
    web: Secret
    ca: Secret
    builder_ca: Secret
    admin: Secret

    def all(self) -> tuple[Secret, ...]:
        return (self.db_master, self.koji_db, self.web, self.ca, self.builder_ca, self.admin)

    def hub_written(self) -> tuple[Secret, ...]:
        return (self.ca, self.builder_ca, self.admin)


def _secret(t: Template, title: str, what: str, key, **kw) -> Secret:
    return t.add_resource(Secret(title, Description=Sub("kojistack ${AWS::StackName}: " + what),
                                 KmsKeyId=GetAtt(key, "Arn"), DeletionPolicy="Retain",
                                 UpdateReplacePolicy="Retain", **kw))


def _generated(username_key: str, username: str, key: str, length: int) -> GenerateSecretString:
    return GenerateSecretString(SecretStringTemplate=json.dumps({username_key: username}),
                                GenerateStringKey=key, PasswordLength=length, ExcludeCharacters=_EXCLUDE)


def add_secrets(t: Template, key) -> Secrets:
    return Secrets(
        db_master=_secret(t, ids.DB_MASTER_SECRET, "RDS master user (JSON username, password)", key,
                          GenerateSecretString=_generated("username", DB_MASTER_USER, "password", 32)),
        koji_db=_secret(t, ids.KOJI_DB_SECRET, "koji database role (JSON username, password)", key,
                        GenerateSecretString=_generated("username", "koji", "password", 32)),
        web=_secret(t, ids.WEB_SECRET, "kojiweb session Secret (JSON secret)", key,
                    GenerateSecretString=_generated("purpose", "kojiweb", "secret", 48)),
        ca=_secret(t, ids.CA_SECRET, "stack CA certificate and key (written by the hub)", key,
                   SecretString=PLACEHOLDER),
        builder_ca=_secret(t, ids.BUILDER_CA_SECRET, "builder intermediate CA (written by the hub)", key,
                           SecretString=PLACEHOLDER),
        admin=_secret(t, ids.ADMIN_SECRET, "koji admin certificate, key and PKCS#12 (written by the hub)",
                      key, SecretString=PLACEHOLDER),
    )
