# The Amazon plugin, installed by `packer init ami/packer` (ami/build runs it). Kept in its own file: Packer before
# 1.7 bundles the amazon-ebs builder and does not know required_plugins, and the tests validate gateway.pkr.hcl with
# Debian's Packer 1.6.6 (tests/Gateway.Tests/Ami/PackerTemplateTests.cs).
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    amazon = {
      version = ">= 1.2.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
