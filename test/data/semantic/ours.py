"""Inventory of a small shop: items, stock levels and reorder reports."""

import csv
from dataclasses import dataclass, field


@dataclass
class Item:
    sku: str
    name: str
    price: float
    stock: int = 0
    tags: list = field(default_factory=list)

    def value(self):
        return self.price * self.stock


class Inventory:
    """Items by SKU, with the stock movements applied to them."""

    def __init__(self):
        self.items = {}
        self.log = []

    def add(self, item, quantity=1):
        if quantity <= 0 or int(quantity) != quantity:
            raise ValueError("quantity must be a positive integer")
        current = self.items.get(item.sku)
        if current is None:
            self.items[item.sku] = item
            current = item
        current.stock += quantity
        self.log.append(("add", item.sku, quantity))
        return current.stock

    def remove(self, sku, quantity=1):
        item = self.items[sku]
        if quantity > item.stock:
            raise ValueError(f"only {item.stock} of {sku} in stock")
        item.stock -= quantity
        self.log.append(("remove", sku, quantity))
        return item.stock

    def total_value(self):
        return sum(item.value() for item in self.items.values())


def load_inventory(path):
    inventory = Inventory()
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            item = Item(row["sku"], row["name"], float(row["price"]))
            inventory.add(item, int(row["stock"]))
    return inventory


def reorder_report(inventory, threshold=5):
    lines = []
    for item in sorted(inventory.items.values(), key=lambda i: i.sku):
        if item.stock < threshold:
            lines.append(f"{item.sku}\t{item.name}\t{item.stock}")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(reorder_report(load_inventory(sys.argv[1])))
