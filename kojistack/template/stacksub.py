"""Deploy-time names: `stack_sub` turns an `ids` name pattern into Fn::Sub, mapping ${StackUuid}.

${StackUuid} is the last part of AWS::StackId (`arn:…:stack/<name>/<uuid>`), which CloudFormation
makes new for every stack creation; `names.SSM_PREFIX` and `names.USER_SECRET_PREFIX` carry it so that
what the machines create at run time never collides with what an earlier stack of the same name
left behind.
"""

from __future__ import annotations

from troposphere import Ref, Select, Split, Sub

from .. import names

STACK_UUID_VALUE = Select(2, Split("/", Ref("AWS::StackId")))


def uses_stack_uuid(text: str) -> bool:
    return "${" + names.STACK_UUID + "}" in text


def stack_values(text: str) -> dict[str, object]:
    """The Fn::Sub mapping `text` needs for ${StackUuid} (empty when it does not use it)."""
    return {names.STACK_UUID: STACK_UUID_VALUE} if uses_stack_uuid(text) else {}


def stack_sub(text: str, **values: object) -> Sub:
    """Fn::Sub of `text`, with ${StackUuid} mapped when the text uses it."""
    mapping = {**stack_values(text), **values}
    return Sub(text, **mapping) if mapping else Sub(text)
