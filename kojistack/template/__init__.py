"""The CloudFormation wing: one module per part of the stack, composed by compose.build_template()."""
