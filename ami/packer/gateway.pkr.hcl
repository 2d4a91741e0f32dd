# The gateway's golden image: Debian 12, the self-contained gateway (no .NET on the image) installed by
# ami/install.sh, the unit, kernel tuning, fluent-bit and the AWS CLI the user data needs. Baked in the first region
# of `regions` and copied to the others. Run by ami/build (publish + bake); by hand:
#   packer init ami/packer
#   packer build -var arch=arm64 -var publish_dir=artifacts/gateway-linux-arm64 \
#     -var 'regions=["us-east-1","us-west-2","eu-west-1","eu-central-1","ap-northeast-1","ap-southeast-1"]' ami/packer

variable "arch" {
  type        = string
  default     = "arm64"
  description = "x64 or arm64: the .NET runtime identifier's architecture (linux-x64 / linux-arm64)."
  validation {
    condition     = var.arch == "x64" || var.arch == "arm64"
    error_message = "The arch must be x64 or arm64."
  }
}

variable "regions" {
  type        = list(string)
  description = "AWS regions that get the image; it is built in the first and copied to the rest."
}

variable "publish_dir" {
  type        = string
  description = "A self-contained `dotnet publish` of src/Gateway for linux-<arch> (ami/build makes it)."
}

variable "version" {
  type        = string
  default     = "dev"
  description = "Names and tags the image (ami/build passes the git commit)."
}

variable "base_ami_name" {
  type        = string
  default     = ""
  description = "Name filter of the base image; empty = Debian 12's official image for the architecture."
}

variable "base_ami_owner" {
  type        = string
  default     = "136693071363"
  description = "Account that publishes the base image (Debian's)."
}

variable "build_instance_type" {
  type        = string
  default     = ""
  description = "Instance that bakes the image; empty = a small one of the architecture."
}

locals {
  # Debian and EC2 call x64 amd64.
  debian_arch         = var.arch == "x64" ? "amd64" : "arm64"
  base_ami_name       = var.base_ami_name != "" ? var.base_ami_name : "debian-12-${local.debian_arch}-*"
  build_instance_type = var.build_instance_type != "" ? var.build_instance_type : (var.arch == "x64" ? "c7i.large" : "c7g.large")
  stamp               = formatdate("YYYYMMDD-hhmm", timestamp())
}

source "amazon-ebs" "gateway" {
  region          = var.regions[0]
  ami_regions     = slice(var.regions, 1, length(var.regions))
  instance_type   = local.build_instance_type
  ssh_username    = "admin"
  ami_name        = "gateway-${var.version}-${var.arch}-${local.stamp}"
  ami_description = "Gateway ${var.version} (${var.arch}): Socket.IO push gateway, self-contained, systemd unit, fluent-bit"
  ena_support     = true

  source_ami_filter {
    filters = {
      name                = local.base_ami_name
      architecture        = local.debian_arch == "amd64" ? "x86_64" : "arm64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = [var.base_ami_owner]
    most_recent = true
  }

  tags = {
    Name      = "gateway-${var.version}-${var.arch}"
    Version   = var.version
    Arch      = var.arch
    BaseImage = "{{ .SourceAMIName }}"
  }
}

build {
  sources = ["source.amazon-ebs.gateway"]

  provisioner "shell" {
    inline = ["mkdir -p /tmp/gateway/publish /tmp/gateway/ami"]
  }

  # The trailing slashes copy the folders' contents.
  provisioner "file" {
    source      = "${var.publish_dir}/"
    destination = "/tmp/gateway/publish"
  }

  provisioner "file" {
    source      = "${path.root}/../"
    destination = "/tmp/gateway/ami"
  }

  provisioner "shell" {
    execute_command = "sudo -E bash '{{ .Path }}'"
    script          = "${path.root}/provision.sh"
  }

  # ami/deploy reads the image ids per region from here.
  post-processor "manifest" {
    output     = "${path.root}/../out/manifest.json"
    strip_path = true
    custom_data = {
      version = var.version
      arch    = var.arch
    }
  }
}
