# Golden image for gateway instances. Build: packer build -var region=eu-west-1 ami/packer/gateway.pkr.hcl
# The application is published beforehand: dotnet publish -c Release src/Gateway -o artifacts/gateway

packer {
  required_plugins {
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}

variable "region" {
  type = string
}

variable "instance_type" {
  type    = string
  # Network-optimized, 2 vCPU: the gateway is bound by per-socket kernel send cost, not memory.
  default = "c7gn.large"
}

source "amazon-ebs" "gateway" {
  region        = var.region
  instance_type = var.instance_type
  ssh_username  = "admin"
  ami_name      = "gateway-{{timestamp}}"
  source_ami_filter {
    filters = {
      name                = "debian-12-arm64-*"
      virtualization-type = "hvm"
    }
    owners      = ["136693071363"] # Debian
    most_recent = true
  }
}

build {
  sources = ["source.amazon-ebs.gateway"]

  provisioner "file" {
    source      = "artifacts/gateway"
    destination = "/tmp/gateway"
  }

  provisioner "file" {
    source      = "ami/systemd/gateway.service"
    destination = "/tmp/gateway.service"
  }

  provisioner "file" {
    source      = "ami/sysctl/90-gateway.conf"
    destination = "/tmp/90-gateway.conf"
  }

  provisioner "shell" {
    inline = [
      "sudo apt-get update -qq",
      "sudo apt-get install -y -qq dotnet-runtime-10.0 aspnetcore-runtime-10.0",
      "sudo useradd --system --home /opt/gateway --shell /usr/sbin/nologin gateway",
      "sudo mkdir -p /opt/gateway /etc/gateway /var/log/gateway",
      "sudo cp -r /tmp/gateway/. /opt/gateway/",
      "sudo chown -R gateway:gateway /var/log/gateway",
      "sudo install -m 0644 /tmp/gateway.service /etc/systemd/system/gateway.service",
      "sudo install -m 0644 /tmp/90-gateway.conf /etc/sysctl.d/90-gateway.conf",
      "sudo systemctl enable gateway",
    ]
  }
}
